"""Failures that every layer may name: raised deep down, answered at the edge."""

from __future__ import annotations


class WriterClosed(RuntimeError):
    """The store takes no more writes (the platform is stopping): whatever asked meanwhile is
    answered "try later"."""
