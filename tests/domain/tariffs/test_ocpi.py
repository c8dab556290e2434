"""Reading and writing OCPI 2.2.1 tariff JSON: every example reads and writes back unchanged, and
every refusal names the field at fault."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from tests.domain.tariffs.sessions import DATA
from voltflow.domain.tariffs import (
    TariffError,
    dumps,
    loads,
    parse_cdr,
    parse_tariff,
    tariff_to_ocpi,
)

EXAMPLES = sorted(DATA.glob("tariff*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_reads_and_writes_back_as_it_was(path: Any) -> None:
    data = loads(path.read_text())
    tariff = parse_tariff(data)
    written = tariff_to_ocpi(tariff)
    assert written == data
    assert parse_tariff(loads(dumps(written))) == tariff


def test_numbers_are_decimals_and_written_without_float() -> None:
    data = loads('{"a": 0.1, "b": 2.50, "c": 3, "d": [1e-7]}')
    assert data == {"a": Decimal("0.1"), "b": Decimal("2.50"), "c": 3, "d": [Decimal("1e-7")]}
    assert dumps(data, indent=0).replace("\n", "") == (
        '{"a": 0.1,"b": 2.50,"c": 3,"d": [0.0000001]}'
    )


BASE: dict[str, Any] = loads((DATA / "tariff_4_complex.json").read_text())


def changed(path: str, value: Any) -> dict[str, Any]:
    """BASE with the field at ``path`` (dots and [i]) set to ``value`` (or removed: ...)."""
    data = copy.deepcopy(BASE)
    node: Any = data
    keys: list[Any] = []
    for part in path.replace("]", "").replace("[", ".").split("."):
        keys.append(int(part) if part.isdigit() else part)
    for key in keys[:-1]:
        node = node[key]
    if value is ...:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "field", "reason"),
    [
        ("elements[1].price_components[0].type", "VOLUME", None, "unknown_value"),
        ("elements[1].price_components[0].price", Decimal("-1"), None, "negative"),
        ("elements[1].price_components[0].price", "1.00", None, "not_number"),
        ("elements[1].price_components[0].price", 1.5, None, "not_number"),  # a float
        ("elements[1].price_components[0].vat", Decimal("-21"), None, "negative"),
        ("elements[1].price_components[0].step_size", 0, None, "step_size"),
        ("elements[1].price_components[0].step_size", -60, None, "negative"),
        ("elements[1].price_components[0].step_size", Decimal("1.5"), None, "not_integer"),
        ("elements[1].price_components[0].step_size", ..., None, "missing"),
        ("elements[1].price_components[0].stepsize", 1, None, "unknown_field"),
        ("elements[1].price_components", [], None, "empty"),
        ("elements", [], None, "empty"),
        ("elements", ..., None, "missing"),
        ("elements[4].restrictions.end_time", "09:00", None, "empty_window"),
        ("elements[4].restrictions.start_time", "9:00", None, "time"),
        ("elements[4].restrictions.end_time", "24:00", None, "time"),
        ("elements[4].restrictions.start_date", "2019-02-30", None, "date"),
        ("elements[4].restrictions.day_of_week", ["MONDAY", "FUNDAY"],
         "elements[4].restrictions.day_of_week[1]", "unknown_value"),
        ("elements[4].restrictions.reservation", "MAYBE", None, "unknown_value"),
        ("elements[1].restrictions.min_current", Decimal(40),
         "elements[1].restrictions.min_current", "min_above_max"),
        ("elements[1].restrictions.min_duration", Decimal(60), None, "not_integer"),
        ("elements[1].restrictions", [], None, "not_object"),
        ("currency", "EURO", None, "currency"),
        ("currency", "XXX", None, "currency"),
        ("currency", 978, None, "not_text"),
        ("country_code", "DEU", None, "length"),
        ("type", "CHEAP", None, "unknown_value"),
        ("last_updated", "yesterday", None, "datetime"),
        ("last_updated", ..., None, "missing"),
        ("min_price", {"excl_vat": Decimal(5)}, None, None),  # allowed
        ("tariff_alt_text", [{"language": "en"}], "tariff_alt_text[0].text", "missing"),
    ],
)  # fmt: skip
def test_a_tariff_is_refused_naming_the_field(
    path: str, value: Any, field: str | None, reason: str | None
) -> None:
    data = changed(path, value)
    if reason is None:
        parse_tariff(data)
        return
    with pytest.raises(TariffError) as refused:
        parse_tariff(data)
    assert (refused.value.field, refused.value.reason) == (field or path, reason)
    assert str(refused.value).startswith(f"{field or path}: ")


def test_min_price_above_max_price_is_refused() -> None:
    data = copy.deepcopy(BASE)
    data["min_price"] = {"excl_vat": Decimal(10), "incl_vat": Decimal(11)}
    data["max_price"] = {"excl_vat": Decimal(5), "incl_vat": Decimal(12)}
    with pytest.raises(TariffError) as refused:
        parse_tariff(data)
    assert refused.value.field == "min_price.excl_vat"
    assert refused.value.values["max_field"] == "max_price.excl_vat"
    data["max_price"] = {"excl_vat": Decimal(15), "incl_vat": Decimal(10)}
    with pytest.raises(TariffError) as refused:
        parse_tariff(data)
    assert refused.value.field == "min_price.incl_vat"


def test_dates_and_validity_out_of_order_are_refused() -> None:
    data = changed("elements[4].restrictions.start_date", "2020-01-02")
    data["elements"][4]["restrictions"]["end_date"] = "2020-01-02"
    with pytest.raises(TariffError) as refused:
        parse_tariff(data)
    assert refused.value.field == "elements[4].restrictions.end_date"
    data = copy.deepcopy(BASE)
    data["start_date_time"] = "2020-01-02T00:00:00Z"
    data["end_date_time"] = "2020-01-01T00:00:00Z"
    with pytest.raises(TariffError) as refused:
        parse_tariff(data)
    assert refused.value.field == "end_date_time"


def test_flat_may_have_step_size_zero_as_the_free_of_charge_example_does() -> None:
    data = changed("elements[0].price_components[0].step_size", 0)
    assert parse_tariff(data).elements[0].price_components[0].step_size == 0


def test_not_json_is_refused_naming_the_file() -> None:
    with pytest.raises(TariffError) as refused:
        loads("{'price': 1}", "tariff.json")
    assert (refused.value.field, refused.value.reason) == ("tariff.json", "json")


CDR: dict[str, Any] = loads((DATA / "cdr_example.json").read_text())


@pytest.mark.parametrize(
    ("path", "value", "field", "reason"),
    [
        ("charging_periods[0].dimensions[0].type", "WATTS", None, "unknown_value"),
        ("charging_periods[0].dimensions[0].volume", Decimal(-1), None, "negative"),
        ("charging_periods[0].dimensions[0].volume", ..., None, "missing"),
        ("charging_periods[0].start_date_time", "2015-06-29T20:00:00Z", None, "outside_session"),
        ("charging_periods", ..., None, "missing"),
        ("end_date_time", "2015-06-29T20:00:00Z", None, "before_start"),
        ("currency", "EUR ", None, "currency"),
    ],
)
def test_a_cdr_is_refused_naming_the_field(
    path: str, value: Any, field: str | None, reason: str
) -> None:
    data = copy.deepcopy(CDR)
    node: Any = data
    keys = [
        int(k) if k.isdigit() else k for k in path.replace("]", "").replace("[", ".").split(".")
    ]
    for key in keys[:-1]:
        node = node[key]
    if value is ...:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    with pytest.raises(TariffError) as refused:
        parse_cdr(data)
    assert (refused.value.field, refused.value.reason) == (field or path, reason)


def test_charging_periods_out_of_order_are_refused() -> None:
    data = copy.deepcopy(CDR)
    data["charging_periods"].append(
        {
            "start_date_time": "2015-06-29T21:00:00Z",
            "dimensions": [{"type": "PARKING_TIME", "volume": Decimal("0.1")}],
        }
    )
    with pytest.raises(TariffError) as refused:
        parse_cdr(data)
    assert refused.value.field == "charging_periods[1].start_date_time"
