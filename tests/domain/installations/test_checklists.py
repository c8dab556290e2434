"""Checklist templates and answers: the shipped templates, how each kind of item judges an answer,
units converted within their dimension, and a template document refused naming its field."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from voltflow.domain.installations.checklists import (
    AnswerInput,
    ItemKind,
    ItemStatus,
    Outcome,
    TemplateError,
    check_reanswer,
    check_waiver,
    evaluate,
    parse_template,
    status_of,
    template_document,
    unit_of,
    verdict,
)
from voltflow.domain.installations.jobs import JobKind, JobRefused


def shipped(key: str) -> Any:
    text = (
        resources.files("voltflow.domain.installations")
        .joinpath("templates", f"{key}.json")
        .read_text()
    )
    return parse_template(json.loads(text), key, 1)


COMMISSIONING = shipped("commissioning")
INSPECTION = shipped("inspection")


def test_the_shipped_templates_cover_what_an_inspection_of_a_charging_point_records() -> None:
    """The responsibilities page's inspection (housing, electrical installation, firmware, filter
    mats), cable and connector, the installer's label, and the measurements of an electrical
    inspection: earth, insulation, RCD type and trip test, supply voltage per phase."""
    common = {
        "housing",
        "cable_connector",
        "labelling",
        "earth_resistance",
        "insulation_resistance",
        "rcd_type",
        "rcd_trip_time",
        "rcd_trip_current",
        "supply_voltage_l1",
        "supply_voltage_l2",
        "supply_voltage_l3",
        "firmware_version",
        "technician_signature",
        "photo_station",
    }
    for template in (COMMISSIONING, INSPECTION):
        assert common <= {i.key for i in template.items}, template.key
        for item in template.items:
            assert set(item.label) == {"en", "nl", "fr"}, item.key
    assert {"filter_mats", "firmware_upgrade", "connections"} <= {i.key for i in INSPECTION.items}
    assert {"customer_signature", "test_charge", "connected"} <= {
        i.key for i in COMMISSIONING.items
    }
    assert COMMISSIONING.job_kinds == {JobKind.INSTALLATION, JobKind.COMMISSIONING}
    assert INSPECTION.job_kinds == {JobKind.INSPECTION}
    units = {i.key: (i.unit.symbol if i.unit else None) for i in INSPECTION.items}
    assert units["earth_resistance"] == "Ω"
    assert units["insulation_resistance"] == "MΩ"
    assert units["rcd_trip_time"] == "ms"
    assert units["rcd_trip_current"] == "mA"
    assert units["supply_voltage_l2"] == "V"
    # A single-phase supply has no L2 nor L3.
    optional = {i.key for i in INSPECTION.items if not i.required}
    assert {"supply_voltage_l2", "supply_voltage_l3"} <= optional
    assert parse_template(template_document(INSPECTION), "inspection", 1) == INSPECTION


@pytest.mark.parametrize(
    ("key", "value", "unit", "outcome", "stored"),
    [
        ("earth_resistance", "12.5", "Ω", Outcome.PASSED, "12.5"),
        ("earth_resistance", "30", "ohm", Outcome.PASSED, "30"),
        ("earth_resistance", "30.1", "Ω", Outcome.FAILED, "30.1"),
        ("earth_resistance", "0.045", "kΩ", Outcome.FAILED, "45"),
        ("insulation_resistance", "1", "MΩ", Outcome.PASSED, "1"),
        ("insulation_resistance", "999", "MΩ", Outcome.PASSED, "999"),
        ("insulation_resistance", "850", "kΩ", Outcome.FAILED, "0.85"),
        ("insulation_resistance", "0.5", "Mohm", Outcome.FAILED, "0.5"),
        ("rcd_trip_time", "23", "ms", Outcome.PASSED, "23"),
        ("rcd_trip_time", "0.31", "s", Outcome.FAILED, "310"),
        ("rcd_trip_current", "24", "mA", Outcome.PASSED, "24"),
        ("rcd_trip_current", "0.012", "A", Outcome.FAILED, "12"),
        ("rcd_trip_current", "31", "mA", Outcome.FAILED, "31"),
        ("supply_voltage_l1", "231.4", "V", Outcome.PASSED, "231.4"),
        ("supply_voltage_l1", "206", "V", Outcome.FAILED, "206"),
        ("supply_voltage_l3", "254", "V", Outcome.FAILED, "254"),
    ],
)
def test_a_measurement_passes_inside_its_allowed_range_in_its_own_unit(
    key: str, value: str, unit: str, outcome: Outcome, stored: str
) -> None:
    item = INSPECTION.item(key)
    assert item is not None
    judged = evaluate(item, AnswerInput(value=Decimal(value), unit=unit))
    assert judged.outcome is outcome
    assert judged.value == Decimal(stored)
    assert judged.unit == item.unit.symbol  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("key", "answer", "field", "code"),
    [
        ("earth_resistance", AnswerInput(value=Decimal(12)), "unit", "unit_missing"),
        ("earth_resistance", AnswerInput(value=Decimal(12), unit="mΩ/s"), "unit", "unit_unknown"),
        ("earth_resistance", AnswerInput(value=Decimal(12), unit="mA"), "unit", "unit_mismatch"),
        ("earth_resistance", AnswerInput(unit="Ω"), "value", "value_missing"),
        (
            "earth_resistance",
            AnswerInput(value=Decimal("NaN"), unit="Ω"),
            "value",
            "value_not_number",
        ),
        (
            "earth_resistance",
            AnswerInput(value=Decimal(-1), unit="Ω"),
            "value",
            "out_of_physical_range",
        ),
        (
            "earth_resistance",
            AnswerInput(value=Decimal(11), unit="kΩ"),
            "value",
            "out_of_physical_range",
        ),
        (
            "rcd_trip_time",
            AnswerInput(value=Decimal(6), unit="s"),
            "value",
            "out_of_physical_range",
        ),
        (
            "earth_resistance",
            AnswerInput(value=Decimal("1.0000001"), unit="Ω"),
            "value",
            "value_places",
        ),
        ("housing", AnswerInput(), "passed", "passed_missing"),
        ("housing", AnswerInput(passed=True, value=Decimal(1)), "value", "field_not_asked"),
        ("filter_mats", AnswerInput(choice="gone"), "choice", "choice_unknown"),
        ("firmware_version", AnswerInput(text=""), "text", "text_missing"),
        ("firmware_version", AnswerInput(text="x" * 2001), "text", "too_long"),
        ("photo_station", AnswerInput(text="nice"), "attachment_id", "attachment_missing"),
        ("technician_signature", AnswerInput(attachment_id=1), "attachment_id", "attachment_kind"),
    ],
)
def test_an_answer_that_cannot_be_is_refused_naming_the_field(
    key: str, answer: AnswerInput, field: str, code: str
) -> None:
    item = INSPECTION.item(key)
    assert item is not None
    with pytest.raises(JobRefused) as exc:
        evaluate(item, answer, attachment_kind="photo")
    assert (exc.value.field, exc.value.code) == (field, code)


def test_other_kinds_judge_their_answers() -> None:
    def judged(key: str, answer: AnswerInput, kind: str | None = None) -> Outcome:
        item = INSPECTION.item(key)
        assert item is not None
        return evaluate(item, answer, kind).outcome

    assert judged("housing", AnswerInput(passed=True, text="as new")) is Outcome.PASSED
    assert judged("housing", AnswerInput(passed=False)) is Outcome.FAILED
    assert judged("filter_mats", AnswerInput(choice="replaced")) is Outcome.PASSED
    assert judged("filter_mats", AnswerInput(choice="dirty")) is Outcome.FAILED
    assert judged("rcd_type", AnswerInput(choice="A+RDC-DD")) is Outcome.PASSED
    assert judged("rcd_type", AnswerInput(choice="AC")) is Outcome.FAILED
    assert judged("photo_station", AnswerInput(attachment_id=3), "photo") is Outcome.PASSED
    signed = AnswerInput(attachment_id=4, text="Jan Peeters")
    assert judged("technician_signature", signed, "signature") is Outcome.PASSED
    with pytest.raises(JobRefused) as unnamed:
        judged("technician_signature", AnswerInput(attachment_id=4), "signature")
    assert unnamed.value.code == "signer_missing"


def test_units_are_read_as_people_write_them() -> None:
    assert unit_of("Ω") == unit_of("\u2126") == unit_of("ohm") == unit_of(" Ohm ")
    assert unit_of("MΩ") == unit_of("Mohm") != unit_of("mΩ")
    assert unit_of("mA") != unit_of("MA")
    assert unit_of("kWh") is None


def test_answers_corrections_and_waivers() -> None:
    assert check_reanswer(False, None) is None
    assert check_reanswer(True, "  wrong probe  ") == "wrong probe"
    with pytest.raises(JobRefused) as twice:
        check_reanswer(True, "")
    assert twice.value.code == "already_answered"
    with pytest.raises(JobRefused):
        check_reanswer(False, "nothing there")
    item = INSPECTION.item("earth_resistance")
    assert item is not None
    assert check_waiver(item, Outcome.FAILED, False, " TT earthing ") == "TT earthing"
    assert check_waiver(item, None, False, "no access to the board") == "no access to the board"
    for outcome, waived, reason, code in (
        (Outcome.PASSED, False, "x", "nothing_to_waive"),
        (Outcome.FAILED, True, "x", "already_waived"),
        (Outcome.FAILED, False, " ", "reason_missing"),
    ):
        with pytest.raises(JobRefused) as exc:
            check_waiver(item, outcome, waived, reason)
        assert exc.value.code == code
    assert status_of(None, False) is ItemStatus.UNANSWERED
    assert status_of(Outcome.FAILED, True) is ItemStatus.WAIVED
    assert status_of(Outcome.PASSED, True) is ItemStatus.PASSED


def test_the_verdict_counts_required_items_and_failures_not_waived() -> None:
    required = [i.key for i in INSPECTION.items if i.required]
    answered = {key: Outcome.PASSED for key in required}
    assert verdict(INSPECTION, answered, []).unanswered == ()
    del answered["photo_station"]
    answered["housing"] = Outcome.FAILED
    answered["supply_voltage_l2"] = Outcome.FAILED  # optional, but answered: it counts
    found = verdict(INSPECTION, answered, ["supply_voltage_l2"])
    assert found.unanswered == ("photo_station",)
    assert found.failed == ("housing",)
    assert verdict(INSPECTION, answered, ["photo_station", "housing", "supply_voltage_l2"]) == (
        verdict(None, {}, [])
    )


def _document(**changes: Any) -> dict[str, Any]:
    document = template_document(INSPECTION)
    for path, value in changes.items():
        target: Any = document
        parts = path.split("__")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        if value is _REMOVE:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return document


_REMOVE = object()


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"title": _REMOVE}, "title"),
        ({"job_kinds": ["maintenance"]}, "job_kinds[0]"),
        ({"sections": []}, "sections"),
        ({"sections__0__key": "Visual Check"}, "sections[0].key"),
        ({"sections__0__items__0__kind": "slider"}, "sections[0].items[0].kind"),
        ({"sections__0__items__1__key": "housing"}, "sections[0].items[1].key"),
        ({"sections__0__items__0__label": {"en": ""}}, "sections[0].items[0].label.en"),
        ({"sections__0__items__0__label": {"english": "x"}}, "sections[0].items[0].label.english"),
        ({"sections__0__items__0__unit": "V"}, "sections[0].items[0].unit"),
        ({"sections__1__items__1__unit": "parsec"}, "sections[1].items[1].unit"),
        ({"sections__1__items__1__allowed": _REMOVE}, "sections[1].items[1].allowed"),
        (
            {"sections__1__items__1__allowed": {"min": "40", "max": "30"}},
            "sections[1].items[1].allowed.max",
        ),
        (
            {"sections__1__items__1__allowed": {"min": "x"}},
            "sections[1].items[1].allowed.min",
        ),
        (
            {"sections__1__items__1__allowed": {"max": "20000"}},
            "sections[1].items[1].allowed",
        ),
        (
            {"sections__1__items__1__physical": {"max": "1e20"}},
            "sections[1].items[1].physical",
        ),
        ({"sections__0__items__2__options": []}, "sections[0].items[2].options"),
        (
            {"sections__0__items__2__options__0__value": "dirty"},
            "sections[0].items[2].options[3].value",
        ),
        ({"sections__0__items__0__colour": "red"}, "sections[0].items[0].colour"),
    ],
)
def test_a_template_that_cannot_be_is_refused_naming_the_field(
    changes: dict[str, Any], path: str
) -> None:
    with pytest.raises(TemplateError) as exc:
        parse_template(_document(**changes), "inspection", 2)
    assert exc.value.path == path


def test_a_template_keeps_its_key() -> None:
    with pytest.raises(TemplateError) as exc:
        parse_template(template_document(INSPECTION), "commissioning", 2)
    assert exc.value.path == "key"
    assert [i.kind for i in INSPECTION.items].count(ItemKind.SIGNATURE) == 1
