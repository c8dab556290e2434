"""The longest text each kind of input may be, for the API's parameters and bodies and the
console's forms: anything longer is refused (422 naming the field) before it reaches a service or
the database. A search is a few words, a name a line, free text a paragraph.
(``tests/web/test_input_limits.py`` walks the OpenAPI document so that no input forgets one.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

NAME_MAX = 200
TEXT_MAX = 2000
SEARCH_MAX = 100
KEY_MAX = 64  # identifiers people or stations choose: station ids, card uids, actions
# A password is hashed (Argon2) before anything else is known of it: hashing a megabyte would be
# the cheapest way to keep the server busy.
PASSWORD_MAX = 1024

Search = Annotated[
    str | None,
    Query(max_length=SEARCH_MAX, description="text to look for; % and _ are plain characters"),
]
StationIdPath = Annotated[str, Path(min_length=1, max_length=KEY_MAX)]
StationIdQuery = Annotated[str | None, Query(max_length=KEY_MAX)]
UidPath = Annotated[str, Path(min_length=1, max_length=KEY_MAX)]
KeyQuery = Annotated[str | None, Query(max_length=KEY_MAX)]
Uid = Annotated[str, Field(min_length=1, max_length=KEY_MAX)]
ActionPath = Annotated[str, Path(min_length=1, max_length=KEY_MAX)]
