"""Searching text columns for what a person typed: the typed text is matched as it is, ``%`` and
``_`` included (they are LIKE's wildcards, escaped here), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import ColumnElement

# The longest text searched for: a few words. (SQLite refuses LIKE patterns beyond 50,000 bytes;
# long before that, a search is no longer something a person typed.)
LONGEST = 100


def contains(column: ColumnElement[str], text: str) -> ColumnElement[bool]:
    """``column`` holds ``text``, case aside; every character of ``text`` stands for itself."""
    return column.icontains(text, autoescape=True)
