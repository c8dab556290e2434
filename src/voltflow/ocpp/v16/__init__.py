"""OCPP 1.6J: its actions (``actions``), its payloads read into and written from the platform's
version-neutral terms (``payloads``), and the handlers of what a station sends (``handlers``).

A second version is a package beside this one that builds its own :data:`VERSION`, and one line
in ``voltflow.ocpp.versions``."""

from __future__ import annotations

from voltflow.ocpp.protocol import OcppVersion
from voltflow.ocpp.v16 import handlers, payloads
from voltflow.ocpp.v16.actions import CATALOGUE
from voltflow.ocpp.validation import schemas

VERSION = OcppVersion(
    name=payloads.VERSION,
    subprotocol="ocpp1.6",
    schemas=schemas(payloads.VERSION),
    catalogue=CATALOGUE,
    handler_for=handlers.handler_for,
    says_when=handlers.says_when,
    answered=handlers.answered,
    loggable=handlers.loggable,
)

__all__ = ["VERSION"]
