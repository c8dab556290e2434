"""The errors OCPP-J names, raised where a frame or payload breaks the protocol."""

from __future__ import annotations

from typing import Any


class OcppError(Exception):
    """Becomes a CALLERROR with ``code`` (the OCPP-J 1.6 error code names)."""

    code = "GenericError"

    def __init__(self, description: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.details = details or {}


class NotImplementedOcpp(OcppError):
    code = "NotImplemented"


class NotSupported(OcppError):
    code = "NotSupported"


class InternalError(OcppError):
    code = "InternalError"


class ProtocolError(OcppError):
    code = "ProtocolError"


class SecurityError(OcppError):
    code = "SecurityError"


class FormationViolation(OcppError):
    code = "FormationViolation"


class PropertyConstraintViolation(OcppError):
    code = "PropertyConstraintViolation"


class OccurenceConstraintViolation(OcppError):  # sic: OCPP-J spells it this way
    code = "OccurenceConstraintViolation"


class TypeConstraintViolation(OcppError):
    code = "TypeConstraintViolation"


class GenericError(OcppError):
    code = "GenericError"
