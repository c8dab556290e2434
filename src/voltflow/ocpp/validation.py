"""Schema validation with the official OCPP JSON schemas (shipped by the ``ocpp`` package).

Every message is checked first by jsonschema-rs (compiled, a few microseconds); what it refuses,
and what it cannot judge exactly as we mean it, goes to fastjsonschema (the schemas compiled to
Python code), whose first violation names the OCPP error to send back. So a valid message, the
common case, costs the fast check only, and an invalid one gets the same precise error as
before."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema_rs
import ocpp

from voltflow.ocpp.errors import (
    FormationViolation,
    NotImplementedOcpp,
    OccurenceConstraintViolation,
    OcppError,
    PropertyConstraintViolation,
    ProtocolError,
    TypeConstraintViolation,
)

SCHEMAS = {"1.6": Path(ocpp.__file__).parent / "v16" / "schemas"}

# Known vendor deviations a lenient station may commit: we store the message and log the deviation.
LENIENT_RULES = frozenset({"maxLength", "additionalProperties", "format"})

_RULE_ERRORS: dict[str, type[OcppError]] = {
    "type": TypeConstraintViolation,
    "maxLength": TypeConstraintViolation,
    "required": ProtocolError,
    "additionalProperties": FormationViolation,
    "enum": PropertyConstraintViolation,
    "format": PropertyConstraintViolation,
    "minimum": PropertyConstraintViolation,
    "maximum": PropertyConstraintViolation,
    "multipleOf": PropertyConstraintViolation,
    "minItems": OccurenceConstraintViolation,
    "maxItems": OccurenceConstraintViolation,
}


@dataclass(frozen=True, slots=True)
class Deviation:
    rule: str
    message: str


class SchemaSet:
    """Compiled validators for one OCPP version, built on first use of each action."""

    def __init__(self, version: str) -> None:
        self.version = version
        self._dir = SCHEMAS[version]
        self._strict: dict[str, Callable[[Any], Any]] = {}
        self._lenient: dict[str, Callable[[Any], Any]] = {}
        self._fast: dict[str, Callable[[Any], bool] | None] = {}
        names = frozenset(p.stem for p in self._dir.glob("*.json"))
        self.actions = frozenset(n for n in names if not n.endswith("Response"))
        self._names = names

    def _schema(self, name: str) -> dict[str, Any]:
        with open(self._dir / f"{name}.json", encoding="utf-8-sig") as f:
            schema: dict[str, Any] = json.load(f)
        return schema

    def _validator(self, name: str, lenient: bool) -> Callable[[Any], Any]:
        cache = self._lenient if lenient else self._strict
        fn = cache.get(name)
        if fn is None:
            schema = self._schema(name)
            if lenient:
                schema = _relax(schema)
            fn = fastjsonschema.compile(schema, formats={"date-time": _is_datetime})
            cache[name] = fn
        return fn

    def _fast_check(self, name: str) -> Callable[[Any], bool] | None:
        if name not in self._fast:
            schema = self._schema(name)
            self._fast[name] = (
                jsonschema_rs.Draft4Validator(
                    schema, validate_formats=True, formats={"date-time": _is_datetime}
                ).is_valid
                if _same_meaning(schema)
                else None
            )
        return self._fast[name]

    def validate(
        self, name: str, payload: dict[str, Any], *, lenient: bool = False
    ) -> list[Deviation]:
        """Raise the OCPP error the first violation names. With ``lenient``, the deviations in
        LENIENT_RULES are returned instead of raised."""
        if name not in self._names:  # also keeps arbitrary names away from the file system
            raise NotImplementedOcpp(f"action {name!r} is not part of OCPP {self.version}")
        fast = self._fast_check(name)
        if fast is not None:
            try:
                if fast(payload):
                    return []
            except (ValueError, TypeError, OverflowError):  # a value it cannot take: ask the other
                pass
        try:
            self._validator(name, False)(payload)
            return []
        except fastjsonschema.JsonSchemaValueException as exc:
            rule = exc.rule or ""
            if lenient and rule in LENIENT_RULES:
                try:
                    self._validator(name, True)(payload)
                except fastjsonschema.JsonSchemaValueException as strict_exc:
                    raise _to_ocpp_error(strict_exc) from strict_exc
                return [Deviation(rule, _describe(exc))]
            raise _to_ocpp_error(exc) from exc


def _describe(exc: fastjsonschema.JsonSchemaValueException) -> str:
    path = ".".join(str(p) for p in (exc.path or [])[1:]) or "payload"
    return f"{path}: {exc.message.removeprefix('data.').removeprefix('data ')}"


def _to_ocpp_error(exc: fastjsonschema.JsonSchemaValueException) -> OcppError:
    cls = _RULE_ERRORS.get(exc.rule or "", FormationViolation)
    path = ".".join(str(p) for p in (exc.path or [])[1:])
    return cls(_describe(exc), {"field": path, "rule": exc.rule})


def _relax(schema: Any) -> Any:
    """The schema with the lenient rules taken out, so everything else is still checked.

    Only keywords are dropped: the keys of ``properties`` are property names (SampledValue has a
    property called ``format``), whose schemas are relaxed but kept."""
    if isinstance(schema, dict):
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in ("maxLength", "format") or (key == "additionalProperties" and value is False):
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: _relax(sub) for name, sub in value.items()}
            else:
                out[key] = _relax(value)
        return out
    if isinstance(schema, list):
        return [_relax(v) for v in schema]
    return schema


def _same_meaning(schema: Any) -> bool:
    """Whether both validators judge ``schema`` alike: they differ on the "uri" format (each its
    own reading of RFC 3986) and on ``multipleOf`` with fractions (float arithmetic), which only
    the commands we send use."""
    if isinstance(schema, dict):
        # Keyword values are numbers and strings; a dict under one of these names is the schema
        # of a property so called (SampledValue has a "format").
        fmt, multiple = schema.get("format"), schema.get("multipleOf")
        if isinstance(multiple, int | float) or (isinstance(fmt, str) and fmt != "date-time"):
            return False
        return all(_same_meaning(v) for v in schema.values())
    if isinstance(schema, list):
        return all(_same_meaning(v) for v in schema)
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_SETS: dict[str, SchemaSet] = {}


def schemas(version: str = "1.6") -> SchemaSet:
    s = _SETS.get(version)
    if s is None:
        s = _SETS[version] = SchemaSet(version)
    return s
