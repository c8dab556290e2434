"""Checklists: what a job must check and record, as versioned templates, and how an answer is
judged.

A template is edited by the operator; each edit is a new version, and a job works to the version
it started with, so that a finished job's report says what was asked of it then. Items are of a
few kinds: a check that passes or fails, a measured value with its unit and the range it must lie
in, a choice among options (some acceptable), a text, a photo and a signature.

An answer is judged when it is given: a value outside the item's allowed range fails the item, a
failed item fails the job unless the operator waives it with a reason. A measurement must come
with its unit (converted to the item's, within one dimension: 850 kΩ is 0.85 MΩ) and lie within
what a meter can show at all, else it is refused, naming the field, and nothing is kept.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from voltflow.domain.installations.jobs import REASON_MAX, ChecklistVerdict, JobKind, JobRefused

KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
LABEL_MAX = 500
TEXT_MAX = 2000
LANGUAGE = re.compile(r"^[a-z]{2}$")
MAX_ITEMS = 200
OPTION_MAX = 64


class ItemKind(enum.StrEnum):
    PASS_FAIL = "pass_fail"
    MEASUREMENT = "measurement"
    CHOICE = "choice"
    TEXT = "text"
    PHOTO = "photo"
    SIGNATURE = "signature"


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"


class ItemStatus(enum.StrEnum):
    UNANSWERED = "unanswered"
    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"


# -- units ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Unit:
    symbol: str
    dimension: str
    factor: Decimal  # how many of the dimension's base unit one of these is


def _units() -> dict[str, Unit]:
    table = {
        "mΩ": ("resistance", "0.001"),
        "Ω": ("resistance", "1"),
        "kΩ": ("resistance", "1000"),
        "MΩ": ("resistance", "1000000"),
        "GΩ": ("resistance", "1000000000"),
        "mV": ("voltage", "0.001"),
        "V": ("voltage", "1"),
        "kV": ("voltage", "1000"),
        "mA": ("current", "0.001"),
        "A": ("current", "1"),
        "ms": ("time", "0.001"),
        "s": ("time", "1"),
        "Hz": ("frequency", "1"),
        "°C": ("temperature", "1"),
    }
    return {s: Unit(s, d, Decimal(f)) for s, (d, f) in table.items()}


UNITS = _units()
# How people and meters write them too: ohm for Ω, the Ohm sign (U+2126) for the Greek letter.
_ALIASES = {
    "mohm": "mΩ",
    "ohm": "Ω",
    "ohms": "Ω",
    "kohm": "kΩ",
    "Mohm": "MΩ",
    "MOhm": "MΩ",
    "Gohm": "GΩ",
    "deg C": "°C",
    "degC": "°C",
}
# What no meter shows: beyond these, a value is a typing error, not a finding.
PHYSICAL: dict[str, tuple[Decimal, Decimal]] = {
    "resistance": (Decimal(0), Decimal("1e12")),
    "voltage": (Decimal(0), Decimal("1e4")),
    "current": (Decimal(0), Decimal("1e4")),
    "time": (Decimal(0), Decimal(3600)),
    "frequency": (Decimal(0), Decimal(1000)),
    "temperature": (Decimal(-60), Decimal(200)),
}


def unit_of(text: str) -> Unit | None:
    """The unit ``text`` names, however it is spelled (``ohm``, ``Ω``, ``Ω``), or None."""
    cleaned = text.strip().replace("\u2126", "Ω")
    if cleaned in UNITS:
        return UNITS[cleaned]
    alias = _ALIASES.get(cleaned) or _ALIASES.get(cleaned.lower())
    if alias is None and cleaned.lower() in ("ohm", "ohms"):
        alias = "Ω"
    return UNITS.get(alias) if alias else None


# What a measurement keeps after its decimal point: more than any meter shows.
PLACES = 6


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros, never in exponent form (30, not 3E+1)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def convert(value: Decimal, given: Unit, wanted: Unit) -> Decimal:
    """``value`` in ``given`` units, said in ``wanted`` units (same dimension), to six places."""
    if given.symbol != wanted.symbol:
        value = value * given.factor / wanted.factor
    return plain(value.quantize(Decimal(1).scaleb(-PLACES)))


# -- templates -----------------------------------------------------------------------------------
class Labels(dict[str, str]):
    """One text in several languages (``{"en": …, "nl": …, "fr": …}``)."""

    def text(self, language: str) -> str:
        return self.get(language) or self.get("en") or next(iter(self.values()), "")


@dataclass(frozen=True, slots=True)
class Range:
    """Inclusive bounds; None: unbounded on that side."""

    low: Decimal | None = None
    high: Decimal | None = None

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, Decimal):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def within(self, other: Range) -> bool:
        """Each bound this range sets lies in ``other`` (an open side stays open)."""
        return all(bound is None or bound in other for bound in (self.low, self.high))


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: Labels
    accepted: bool


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    kind: ItemKind
    label: Labels
    required: bool = True
    hint: Labels | None = None
    unit: Unit | None = None
    allowed: Range | None = None
    physical: Range | None = None
    options: tuple[Option, ...] = ()

    def physical_range(self) -> Range:
        """What a meter can show in the item's unit: the item's own bounds, else the
        dimension's."""
        if self.physical is not None:
            return self.physical
        assert self.unit is not None
        low, high = PHYSICAL[self.unit.dimension]
        return Range(low / self.unit.factor, high / self.unit.factor)


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: Labels
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    version: int
    title: Labels
    job_kinds: frozenset[JobKind]
    sections: tuple[Section, ...]
    id: int | None = None

    @property
    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    def item(self, key: str) -> Item | None:
        return next((i for i in self.items if i.key == key), None)


class TemplateError(ValueError):
    """A template document that cannot be: ``path`` names the field
    (``sections[1].items[0].unit``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _labels(value: object, path: str) -> Labels:
    if isinstance(value, str):
        value = {"en": value}
    if not isinstance(value, Mapping) or not value:
        raise TemplateError(path, "a text, or texts by language")
    out = Labels()
    for lang, text in value.items():
        if not isinstance(lang, str) or not LANGUAGE.match(lang):
            raise TemplateError(f"{path}.{lang}", "a two-letter language code")
        if not isinstance(text, str) or not text.strip():
            raise TemplateError(f"{path}.{lang}", "a text")
        if len(text) > LABEL_MAX:
            raise TemplateError(f"{path}.{lang}", f"at most {LABEL_MAX} characters")
        out[lang] = text.strip()
    return out


def _number(value: object, path: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise TemplateError(path, "a number")
    try:
        number = Decimal(str(value)) if isinstance(value, int | float | str | Decimal) else None
    except InvalidOperation:
        number = None
    if not isinstance(number, Decimal) or not number.is_finite():
        raise TemplateError(path, "a number")
    return number


def _range(value: object, path: str) -> Range | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - {"min", "max"}:
        raise TemplateError(path, 'an object with "min" and/or "max"')
    found = Range(
        _number(value.get("min"), f"{path}.min"), _number(value.get("max"), f"{path}.max")
    )
    if found.low is None and found.high is None:
        raise TemplateError(path, 'an object with "min" and/or "max"')
    if found.low is not None and found.high is not None and found.low > found.high:
        raise TemplateError(f"{path}.max", "at least min")
    return found


_ITEM_FIELDS = {
    "key",
    "kind",
    "label",
    "required",
    "hint",
    "unit",
    "allowed",
    "physical",
    "options",
}


def _item(value: object, path: str) -> Item:
    if not isinstance(value, Mapping):
        raise TemplateError(path, "an object")
    for name in value:
        if name not in _ITEM_FIELDS:
            raise TemplateError(f"{path}.{name}", "not a field of an item")
    key = value.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        raise TemplateError(f"{path}.key", "lower-case letters, digits and _, from a letter")
    try:
        kind = ItemKind(str(value.get("kind")))
    except ValueError:
        raise TemplateError(
            f"{path}.kind", "one of " + ", ".join(k.value for k in ItemKind)
        ) from None
    required = value.get("required", True)
    if not isinstance(required, bool):
        raise TemplateError(f"{path}.required", "true or false")
    label = _labels(value.get("label"), f"{path}.label")
    hint = _labels(value["hint"], f"{path}.hint") if value.get("hint") is not None else None
    unit = allowed = physical = None
    options: tuple[Option, ...] = ()
    if kind is ItemKind.MEASUREMENT:
        raw_unit = value.get("unit")
        unit = unit_of(raw_unit) if isinstance(raw_unit, str) else None
        if unit is None:
            raise TemplateError(f"{path}.unit", "one of " + ", ".join(UNITS))
        allowed = _range(value.get("allowed"), f"{path}.allowed")
        if allowed is None:
            raise TemplateError(f"{path}.allowed", "a measurement's allowed range")
        physical = _range(value.get("physical"), f"{path}.physical")
        item = Item(key, kind, label, required, hint, unit, allowed, physical)
        if not allowed.within(item.physical_range()):
            raise TemplateError(f"{path}.allowed", "within what a meter can show")
        if physical is not None and not physical.within(
            Item(key, kind, label, unit=unit).physical_range()
        ):
            raise TemplateError(f"{path}.physical", "within what the unit can be at all")
        return item
    for name in ("unit", "allowed", "physical"):
        if value.get(name) is not None:
            raise TemplateError(f"{path}.{name}", "only a measurement has it")
    if kind is ItemKind.CHOICE:
        raw = value.get("options")
        if not isinstance(raw, list) or len(raw) < 2:
            raise TemplateError(f"{path}.options", "at least two options")
        seen: set[str] = set()
        parsed = []
        for n, option in enumerate(raw):
            where = f"{path}.options[{n}]"
            if not isinstance(option, Mapping):
                raise TemplateError(where, "an object")
            option_value = option.get("value")
            if not isinstance(option_value, str) or not 1 <= len(option_value) <= OPTION_MAX:
                raise TemplateError(f"{where}.value", f"1–{OPTION_MAX} characters")
            if option_value in seen:
                raise TemplateError(f"{where}.value", "given twice")
            seen.add(option_value)
            accepted = option.get("accepted", True)
            if not isinstance(accepted, bool):
                raise TemplateError(f"{where}.accepted", "true or false")
            parsed.append(
                Option(option_value, _labels(option.get("label"), f"{where}.label"), accepted)
            )
        if not any(o.accepted for o in parsed):
            raise TemplateError(f"{path}.options", "at least one option is acceptable")
        options = tuple(parsed)
    elif value.get("options") is not None:
        raise TemplateError(f"{path}.options", "only a choice has them")
    return Item(key, kind, label, required, hint, options=options)


def parse_template(document: Mapping[str, Any], key: str, version: int) -> Template:
    """A template from its document (the JSON the operator edits and the package ships);
    ``TemplateError`` names the first field at fault."""
    for name in document:
        if name not in ("key", "title", "job_kinds", "sections"):
            raise TemplateError(name, "not a field of a template")
    if document.get("key", key) != key:
        raise TemplateError("key", f"the template's key is {key}")
    if not KEY.match(key):
        raise TemplateError("key", "lower-case letters, digits and _, from a letter")
    title = _labels(document.get("title"), "title")
    raw_kinds = document.get("job_kinds")
    if not isinstance(raw_kinds, list) or not raw_kinds:
        raise TemplateError("job_kinds", "the kinds of job it is for")
    kinds = set()
    for n, kind in enumerate(raw_kinds):
        try:
            kinds.add(JobKind(kind))
        except ValueError:
            raise TemplateError(
                f"job_kinds[{n}]", "one of " + ", ".join(k.value for k in JobKind)
            ) from None
    raw_sections = document.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise TemplateError("sections", "at least one section")
    sections = []
    keys: set[str] = set()
    count = 0
    for s, raw in enumerate(raw_sections):
        where = f"sections[{s}]"
        if not isinstance(raw, Mapping):
            raise TemplateError(where, "an object")
        section_key = raw.get("key")
        if not isinstance(section_key, str) or not KEY.match(section_key):
            raise TemplateError(f"{where}.key", "lower-case letters, digits and _, from a letter")
        raw_items = raw.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise TemplateError(f"{where}.items", "at least one item")
        items = []
        for i, raw_item in enumerate(raw_items):
            item = _item(raw_item, f"{where}.items[{i}]")
            if item.key in keys:
                raise TemplateError(f"{where}.items[{i}].key", f"{item.key} is given twice")
            keys.add(item.key)
            items.append(item)
            count += 1
            if count > MAX_ITEMS:
                raise TemplateError(f"{where}.items[{i}]", f"at most {MAX_ITEMS} items")
        sections.append(
            Section(section_key, _labels(raw.get("title"), f"{where}.title"), tuple(items))
        )
    return Template(key, version, title, frozenset(kinds), tuple(sections))


def template_document(template: Template) -> dict[str, Any]:
    """The document ``parse_template`` reads back into the same template."""

    def rng(r: Range | None) -> dict[str, str] | None:
        if r is None:
            return None
        out = {}
        if r.low is not None:
            out["min"] = str(r.low)
        if r.high is not None:
            out["max"] = str(r.high)
        return out

    def item(i: Item) -> dict[str, Any]:
        out: dict[str, Any] = {"key": i.key, "kind": i.kind.value, "label": dict(i.label)}
        if not i.required:
            out["required"] = False
        if i.hint is not None:
            out["hint"] = dict(i.hint)
        if i.unit is not None:
            out["unit"] = i.unit.symbol
            out["allowed"] = rng(i.allowed)
            if i.physical is not None:
                out["physical"] = rng(i.physical)
        if i.options:
            out["options"] = [
                {"value": o.value, "label": dict(o.label), "accepted": o.accepted}
                for o in i.options
            ]
        return out

    return {
        "key": template.key,
        "title": dict(template.title),
        "job_kinds": sorted(k.value for k in template.job_kinds),
        "sections": [
            {"key": s.key, "title": dict(s.title), "items": [item(i) for i in s.items]}
            for s in template.sections
        ],
    }


# -- answers -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AnswerInput:
    """What a technician gives for an item; which fields count depends on the item's kind."""

    passed: bool | None = None
    value: Decimal | None = None
    unit: str | None = None
    choice: str | None = None
    text: str | None = None
    attachment_id: int | None = None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """An answer judged: its outcome, and a measurement in the item's own unit."""

    outcome: Outcome
    value: Decimal | None = None
    unit: str | None = None


def _refuse(code: str, message: str, field: str, **params: object) -> JobRefused:
    return JobRefused(code, message, field, **params)


_KIND_FIELDS: dict[ItemKind, frozenset[str]] = {
    ItemKind.PASS_FAIL: frozenset({"passed", "text"}),
    ItemKind.MEASUREMENT: frozenset({"value", "unit", "text"}),
    ItemKind.CHOICE: frozenset({"choice", "text"}),
    ItemKind.TEXT: frozenset({"text"}),
    ItemKind.PHOTO: frozenset({"attachment_id", "text"}),
    ItemKind.SIGNATURE: frozenset({"attachment_id", "text"}),
}


def evaluate(item: Item, answer: AnswerInput, attachment_kind: str | None = None) -> Evaluation:
    """The outcome of ``answer`` to ``item``; ``JobRefused`` naming the field when the answer
    cannot be taken at all. ``attachment_kind``: the kind of the file the answer names (photo,
    signature), as stored with the job."""
    given = {
        name
        for name in ("passed", "value", "unit", "choice", "text", "attachment_id")
        if getattr(answer, name) is not None
    }
    for name in sorted(given - _KIND_FIELDS[item.kind]):
        raise _refuse("field_not_asked", f"{name}: not asked by this item", name, kind=item.kind)
    if answer.text is not None and len(answer.text) > TEXT_MAX:
        raise _refuse("too_long", f"at most {TEXT_MAX} characters", "text")
    if item.kind is ItemKind.PASS_FAIL:
        if answer.passed is None:
            raise _refuse("passed_missing", "passed: true or false", "passed")
        return Evaluation(Outcome.PASSED if answer.passed else Outcome.FAILED)
    if item.kind is ItemKind.MEASUREMENT:
        return _measure(item, answer)
    if item.kind is ItemKind.CHOICE:
        option = next((o for o in item.options if o.value == answer.choice), None)
        if option is None:
            raise _refuse(
                "choice_unknown",
                "choice: one of " + ", ".join(o.value for o in item.options),
                "choice",
                options=tuple(o.value for o in item.options),
            )
        return Evaluation(Outcome.PASSED if option.accepted else Outcome.FAILED)
    if item.kind is ItemKind.TEXT:
        if answer.text is None or not answer.text.strip():
            raise _refuse("text_missing", "text: the answer", "text")
        return Evaluation(Outcome.PASSED)
    if answer.attachment_id is None:
        raise _refuse("attachment_missing", "attachment_id: the uploaded file", "attachment_id")
    wanted = "photo" if item.kind is ItemKind.PHOTO else "signature"
    if attachment_kind != wanted:
        raise _refuse(
            "attachment_kind",
            f"attachment_id: not a {wanted} of this job",
            "attachment_id",
            wanted=wanted,
        )
    if item.kind is ItemKind.SIGNATURE and (answer.text is None or not answer.text.strip()):
        raise _refuse("signer_missing", "text: the name of who signs", "text")
    return Evaluation(Outcome.PASSED)


def _measure(item: Item, answer: AnswerInput) -> Evaluation:
    assert item.unit is not None and item.allowed is not None
    if answer.value is None:
        raise _refuse("value_missing", "value: the measured value", "value")
    if not answer.value.is_finite():
        raise _refuse("value_not_number", "value: a number", "value")
    if answer.unit is None or not answer.unit.strip():
        raise _refuse(
            "unit_missing", f"unit: the measured value's unit ({item.unit.symbol})", "unit"
        )
    exponent = answer.value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > PLACES:
        raise _refuse("value_places", f"value: at most {PLACES} decimals", "value")
    given = unit_of(answer.unit)
    if given is None:
        raise _refuse("unit_unknown", f"unit: {answer.unit!r} is no unit known here", "unit")
    if given.dimension != item.unit.dimension:
        raise _refuse(
            "unit_mismatch",
            f"unit: {given.symbol} does not measure what {item.unit.symbol} does",
            "unit",
            wanted=item.unit.symbol,
        )
    value = convert(answer.value, given, item.unit)
    physical = item.physical_range()
    if value not in physical:
        raise _refuse(
            "out_of_physical_range",
            f"value: {answer.value} {given.symbol} is beyond what a meter shows",
            "value",
            low=physical.low,
            high=physical.high,
            unit=item.unit.symbol,
        )
    outcome = Outcome.PASSED if value in item.allowed else Outcome.FAILED
    return Evaluation(outcome, value, item.unit.symbol)


def check_reanswer(answered: bool, correction_reason: str | None) -> str | None:
    """An item is answered once; another answer is a correction, with its reason. The reason,
    stripped (None for a first answer)."""
    reason = (correction_reason or "").strip() or None
    if answered and reason is None:
        raise _refuse(
            "already_answered",
            "the item is answered already: a correction needs its reason",
            "correction_reason",
        )
    if not answered and reason is not None:
        raise _refuse(
            "nothing_to_correct", "the item has no answer to correct", "correction_reason"
        )
    if reason is not None and len(reason) > REASON_MAX:
        raise _refuse("too_long", f"at most {REASON_MAX} characters", "correction_reason")
    return reason


def check_waiver(item: Item, outcome: Outcome | None, waived: bool, reason: str | None) -> str:
    """A waiver lets a failed (or unanswerable) item pass the job, for a reason. The reason,
    stripped."""
    if waived:
        raise _refuse("already_waived", "the item is waived already", "item_key")
    if outcome is Outcome.PASSED:
        raise _refuse("nothing_to_waive", "the item passed: nothing to waive", "item_key")
    text = (reason or "").strip()
    if not text:
        raise _refuse("reason_missing", "a waiver needs its reason", "reason")
    if len(text) > REASON_MAX:
        raise _refuse("too_long", f"at most {REASON_MAX} characters", "reason")
    return text


def status_of(outcome: Outcome | None, waived: bool) -> ItemStatus:
    if outcome is Outcome.PASSED:
        return ItemStatus.PASSED
    if waived:
        return ItemStatus.WAIVED
    if outcome is Outcome.FAILED:
        return ItemStatus.FAILED
    return ItemStatus.UNANSWERED


def verdict(
    template: Template | None, outcomes: Mapping[str, Outcome], waived: Iterable[str]
) -> ChecklistVerdict:
    """What the checklist says of the job: required items without answer or waiver, and failed
    items without waiver (an optional item that was answered counts like any other)."""
    if template is None:
        return ChecklistVerdict()
    waivers = set(waived)
    unanswered = []
    failed = []
    for item in template.items:
        status = status_of(outcomes.get(item.key), item.key in waivers)
        if status is ItemStatus.UNANSWERED and item.required:
            unanswered.append(item.key)
        elif status is ItemStatus.FAILED:
            failed.append(item.key)
    return ChecklistVerdict(tuple(unanswered), tuple(failed))


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """An answer as kept: the current one of its item, or one a correction replaced."""

    id: int
    item_key: str
    current: bool
    outcome: Outcome
    answered_at: datetime
    answered_by: int | None
    answered_by_name: str
    passed: bool | None = None
    value: Decimal | None = None
    unit: str | None = None
    given_value: Decimal | None = None
    given_unit: str | None = None
    choice: str | None = None
    text: str | None = None
    attachment_id: int | None = None
    correction_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Waiver:
    item_key: str
    reason: str
    waived_at: datetime
    waived_by: int | None
    waived_by_name: str


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    """A template version as kept: its document, and who made it when."""

    id: int
    key: str
    version: int
    document: str
    created_at: datetime
    created_by: str
