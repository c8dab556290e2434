"""Schema validation with the official OCPP JSON schemas (shipped by the ``ocpp`` package),
compiled to Python code by fastjsonschema: the same rules as jsonschema at a fraction of the cost
per message."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import fastjsonschema
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

    def validate(
        self, name: str, payload: dict[str, Any], *, lenient: bool = False
    ) -> list[Deviation]:
        """Raise the OCPP error the first violation names. With ``lenient``, the deviations in
        LENIENT_RULES are returned instead of raised."""
        if name not in self._names:  # also keeps arbitrary names away from the file system
            raise NotImplementedOcpp(f"action {name!r} is not part of OCPP {self.version}")
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
