"""A tariff's refusals as people read them: in English the domain's own text word for word, in
Dutch and French from the field, rule and values the error carries."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.domain.tariffs.sessions import DATA
from voltflow.domain.tariffs import (
    TariffError,
    loads,
    parse_cdr,
    parse_tariff,
    price_session,
)
from voltflow.i18n import refusals, reset_cache, use
from voltflow.i18n.refusals import _TARIFF_PROBLEMS

TARIFF: dict[str, Any] = loads((DATA / "tariff_4_complex.json").read_text())
CDR: dict[str, Any] = loads((DATA / "cdr_example.json").read_text())
MOMENT = datetime(2026, 6, 1, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _catalogs() -> None:
    reset_cache()


def _tariff(change: Callable[[dict[str, Any]], None]) -> Callable[[], object]:
    data = copy.deepcopy(TARIFF)
    change(data)
    return lambda: parse_tariff(data)


def _cdr(change: Callable[[dict[str, Any]], None]) -> Callable[[], object]:
    data = copy.deepcopy(CDR)
    change(data)
    return lambda: parse_cdr(data)


def _restriction(name: str, value: Any) -> Callable[[], object]:
    return _tariff(lambda d: d["elements"][4]["restrictions"].__setitem__(name, value))


def _component(name: str, value: Any) -> Callable[[], object]:
    return _tariff(lambda d: d["elements"][1]["price_components"][0].__setitem__(name, value))


TARIFF_4 = parse_tariff(TARIFF)
LATER = MOMENT.replace(hour=11)
REFUSED: list[Callable[[], object]] = [
    lambda: loads("{", "tariff.json"),
    lambda: parse_tariff([]),
    _tariff(lambda d: d.__setitem__("colour", "blue")),
    _tariff(lambda d: d.pop("id")),
    _tariff(lambda d: d.__setitem__("id", 14)),
    _tariff(lambda d: d.__setitem__("party_id", "ALLX")),
    _component("price", "1"),
    _component("price", Decimal(-1)),
    _component("step_size", Decimal("0.5")),
    _tariff(lambda d: d.__setitem__("elements", {})),
    _tariff(lambda d: d.__setitem__("elements", [])),
    _component("type", "VOLUME"),
    _tariff(lambda d: d.__setitem__("last_updated", "today")),
    _tariff(lambda d: d.__setitem__("currency", "XYZ")),
    _restriction("start_time", "9h"),
    _restriction("start_date", "24/12/2015"),
    _tariff(lambda d: d["elements"][4]["restrictions"].update(min_duration=9, max_duration=8)),
    _component("step_size", 0),
    _restriction("end_time", "09:00"),
    _tariff(lambda d: d["elements"][4]["restrictions"].update(
        start_date="2020-01-02", end_date="2020-01-01")),
    _cdr(lambda d: d.__setitem__("end_date_time", "2015-06-29T21:00:00Z")),
    _cdr(lambda d: d["charging_periods"][0]["dimensions"].append(
        {"type": "TIME", "volume": Decimal(1)})),
    _cdr(lambda d: d["charging_periods"].insert(0, {
        "start_date_time": "2015-06-29T22:00:00Z",
        "dimensions": [{"type": "TIME", "volume": Decimal(1)}]})),
    _cdr(lambda d: d["charging_periods"][0].__setitem__(
        "start_date_time", "2015-06-30T21:00:00Z")),
    lambda: price_session(TARIFF_4, (), MOMENT, LATER, time_zone="Nowhere/Here"),
    lambda: price_session(TARIFF_4, (), MOMENT, LATER, currency="CHF"),
    lambda: price_session(
        parse_tariff({**TARIFF, "end_date_time": "2020-01-01T00:00:00Z"}), (), MOMENT, LATER
    ),
]  # fmt: skip


def _errors() -> list[TariffError]:
    found = []
    for case, refuse in enumerate(REFUSED):
        try:
            refuse()
        except TariffError as exc:
            found.append(exc)
        else:
            pytest.fail(f"case {case} is not refused")
    return found


def test_every_rule_is_said_and_in_english_as_the_domain_says_it() -> None:
    errors = _errors()
    missing = set(_TARIFF_PROBLEMS) - {e.reason for e in errors}
    assert missing == set()
    for error in errors:
        assert refusals.tariff_error(error) == str(error)


def test_in_dutch_and_french() -> None:
    step = next(e for e in _errors() if e.reason == "step_size")
    mismatch = next(e for e in _errors() if e.reason == "currency_mismatch")
    with use("fr"):
        assert refusals.tariff_error(step) == (
            "elements[1].price_components[0].step_size : doit valoir au moins 1"
        )
        assert refusals.tariff_error(mismatch) == (
            "currency : le tarif est en EUR, ce qu'il tarifie en CHF"
        )
    with use("nl"):
        assert refusals.tariff_error(step) == (
            "elements[1].price_components[0].step_size: moet minstens 1 zijn"
        )
