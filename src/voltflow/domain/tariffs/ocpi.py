"""OCPI 2.2.1 JSON for tariffs and a CDR's charging periods: read (refusing what the module
forbids, naming the field path) and written back with exactly the module's field names.

JSON numbers are read as Decimal (``loads``) and written as numbers without passing through float
(``dumps``)."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from voltflow.domain.money import MINOR_UNITS
from voltflow.domain.tariffs.model import (
    CdrDimension,
    ChargingPeriod,
    DayOfWeek,
    DisplayText,
    Price,
    PriceComponent,
    ReservationRestriction,
    Tariff,
    TariffDimension,
    TariffElement,
    TariffError,
    TariffRestrictions,
    TariffType,
)
from voltflow.domain.tariffs.pricing import DEFAULT_TIME_ZONE, price_session

E = TypeVar("E", bound=enum.Enum)
R = TypeVar("R")

_TIME = re.compile(r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")
_DATE = re.compile(r"^([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


# --- JSON text -----------------------------------------------------------------------------------


def loads(text: str | bytes, what: str = "") -> Any:
    """JSON with every fractional number a Decimal (whole numbers stay int)."""
    try:
        return json.loads(text, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TariffError(f"not JSON ({exc})", what, "json", error=str(exc)) from exc


def dumps(value: Any, indent: int = 2) -> str:
    """JSON text with Decimals written as the numbers they are (``2.50`` stays ``2.50``)."""
    return _dump(value, indent, 0)


def _dump(value: Any, indent: int, level: int) -> str:
    pad = "\n" + " " * (indent * (level + 1))
    end = "\n" + " " * (indent * level)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return format(value, "f")
    if value is None or isinstance(value, bool | int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = [f"{json.dumps(str(k))}: {_dump(v, indent, level + 1)}" for k, v in value.items()]
        return "{" + pad + ("," + pad).join(items) + end + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[" + pad + ("," + pad).join(_dump(v, indent, level + 1) for v in value) + end + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


# --- reading: one small reader per OCPI type, each naming the path it reads ----------------------


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TariffError("must be an object", path, "not_object")
    return value


def _fields(data: Mapping[str, Any], path: str, allowed: Sequence[str]) -> None:
    for name in data:
        if name not in allowed:
            raise TariffError(
                "is not a field of the OCPI module", _join(path, str(name)), "unknown_field"
            )


def _required(data: Mapping[str, Any], name: str, path: str) -> Any:
    if data.get(name) is None:
        raise TariffError("is required", _join(path, name), "missing")
    return data[name]


def _text(value: Any, path: str, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise TariffError("must be text", path, "not_text")
    if max_length is not None and len(value) > max_length:
        raise TariffError(
            f"at most {max_length} characters", path, "length", length=str(max_length)
        )
    return value


def _number(value: Any, path: str, *, negative: bool = False) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TariffError("must be a number", path, "not_number")
    number = Decimal(value)
    if not number.is_finite():
        raise TariffError("must be a number", path, "not_number")
    if not negative and number < 0:
        raise TariffError("must not be negative", path, "negative")
    return number


def _integer(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TariffError("must be a whole number", path, "not_integer")
    if value < 0:
        raise TariffError("must not be negative", path, "negative")
    return value


def _list(value: Any, path: str, *, non_empty: bool = False) -> list[Any]:
    if not isinstance(value, list):
        raise TariffError("must be a list", path, "not_list")
    if non_empty and not value:
        raise TariffError("must list at least one", path, "empty")
    return value


def _enum(kind: type[E], value: Any, path: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise TariffError(
            f"{value!r} is not one of {allowed}",
            path,
            "unknown_value",
            value=repr(value),
            allowed=allowed,
        ) from None


def parse_datetime(value: Any, path: str) -> datetime:
    """An OCPI DateTime (RFC 3339, UTC when it names no offset)."""
    text = _text(value, path)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TariffError(
            "not a date and time like 2015-06-29T20:39:09Z", path, "datetime", value=text
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def write_datetime(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    spec = "microseconds" if utc.microsecond else "seconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def check_currency(value: Any, path: str) -> str:
    text = _text(value, path)
    if not _CURRENCY.match(text) or text not in MINOR_UNITS:
        allowed = ", ".join(sorted(MINOR_UNITS))
        raise TariffError(
            f"{text!r} is not a currency we bill in ({allowed})",
            path,
            "currency",
            value=repr(text),
            allowed=allowed,
        )
    return text


def _time_of_day(value: Any, path: str) -> time:
    text = _text(value, path)
    if not _TIME.match(text):
        raise TariffError("a time of day like 13:30", path, "time", value=text)
    return time.fromisoformat(text)


def _date(value: Any, path: str) -> date:
    text = _text(value, path)
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise TariffError("a date like 2015-12-24", path, "date", value=text) from None


def _optional(
    data: Mapping[str, Any], name: str, path: str, read: Callable[[Any, str], R]
) -> R | None:
    value = data.get(name)
    return None if value is None else read(value, _join(path, name))


def _not_above(low: Any, high: Any, path: str, low_name: str, high_name: str) -> None:
    if low is not None and high is not None and low > high:
        raise TariffError(
            f"is above {_join(path, high_name)}",
            _join(path, low_name),
            "min_above_max",
            min_field=_join(path, low_name),
            max_field=_join(path, high_name),
        )


def _price(value: Any, path: str) -> Price:
    data = _object(value, path)
    _fields(data, path, ("excl_vat", "incl_vat"))
    excl = _number(_required(data, "excl_vat", path), _join(path, "excl_vat"))
    incl = _optional(data, "incl_vat", path, _number)
    return Price(excl, incl)


_COMPONENT_FIELDS = ("type", "price", "vat", "step_size")


def _component(value: Any, path: str) -> PriceComponent:
    data = _object(value, path)
    _fields(data, path, _COMPONENT_FIELDS)
    kind = _enum(TariffDimension, _required(data, "type", path), _join(path, "type"))
    price = _number(_required(data, "price", path), _join(path, "price"))
    vat = _optional(data, "vat", path, _number)
    step_path = _join(path, "step_size")
    step = _integer(_required(data, "step_size", path), step_path)
    # FLAT has no unit to step by: the module's own free-of-charge example gives it 0.
    if step < 1 and kind is not TariffDimension.FLAT:
        raise TariffError("must be at least 1", step_path, "step_size")
    return PriceComponent(kind, price, vat, step)


_RESTRICTION_FIELDS = (
    "start_time",
    "end_time",
    "start_date",
    "end_date",
    "min_kwh",
    "max_kwh",
    "min_current",
    "max_current",
    "min_power",
    "max_power",
    "min_duration",
    "max_duration",
    "day_of_week",
    "reservation",
)


def _restrictions(value: Any, path: str) -> TariffRestrictions:
    data = _object(value, path)
    _fields(data, path, _RESTRICTION_FIELDS)
    days = tuple(
        _enum(DayOfWeek, day, f"{path}.day_of_week[{i}]")
        for i, day in enumerate(_list(data.get("day_of_week") or [], _join(path, "day_of_week")))
    )
    restrictions = TariffRestrictions(
        start_time=_optional(data, "start_time", path, _time_of_day),
        end_time=_optional(data, "end_time", path, _time_of_day),
        start_date=_optional(data, "start_date", path, _date),
        end_date=_optional(data, "end_date", path, _date),
        min_kwh=_optional(data, "min_kwh", path, _number),
        max_kwh=_optional(data, "max_kwh", path, _number),
        min_current=_optional(data, "min_current", path, _number),
        max_current=_optional(data, "max_current", path, _number),
        min_power=_optional(data, "min_power", path, _number),
        max_power=_optional(data, "max_power", path, _number),
        min_duration=_optional(data, "min_duration", path, _integer),
        max_duration=_optional(data, "max_duration", path, _integer),
        day_of_week=days,
        reservation=(
            None
            if data.get("reservation") is None
            else _enum(ReservationRestriction, data["reservation"], _join(path, "reservation"))
        ),
    )
    r = restrictions
    if r.start_time is not None and r.start_time == r.end_time:
        raise TariffError(
            "start_time and end_time are the same: a window of no time",
            _join(path, "end_time"),
            "empty_window",
        )
    if r.start_date is not None and r.end_date is not None and r.start_date >= r.end_date:
        # end_date is exclusive: on or before start_date leaves no day at all.
        raise TariffError(
            f"must come after {_join(path, 'start_date')}",
            _join(path, "end_date"),
            "date_order",
            other=_join(path, "start_date"),
        )
    for low, high in (
        ("min_kwh", "max_kwh"),
        ("min_current", "max_current"),
        ("min_power", "max_power"),
        ("min_duration", "max_duration"),
    ):
        _not_above(getattr(r, low), getattr(r, high), path, low, high)
    return restrictions


def _element(value: Any, path: str) -> TariffElement:
    data = _object(value, path)
    _fields(data, path, ("price_components", "restrictions"))
    components_path = _join(path, "price_components")
    raw = _list(_required(data, "price_components", path), components_path, non_empty=True)
    components = tuple(_component(c, f"{components_path}[{i}]") for i, c in enumerate(raw))
    restrictions = _optional(data, "restrictions", path, _restrictions)
    return TariffElement(components, restrictions)


def _display_text(value: Any, path: str) -> DisplayText:
    data = _object(value, path)
    _fields(data, path, ("language", "text"))
    language = _text(_required(data, "language", path), _join(path, "language"), 2)
    return DisplayText(language, _text(_required(data, "text", path), _join(path, "text"), 512))


_TARIFF_FIELDS = (
    "country_code",
    "party_id",
    "id",
    "currency",
    "type",
    "tariff_alt_text",
    "tariff_alt_url",
    "min_price",
    "max_price",
    "elements",
    "start_date_time",
    "end_date_time",
    "energy_mix",
    "last_updated",
)


def parse_tariff(value: Any, path: str = "") -> Tariff:
    """A Tariff object of OCPI 2.2.1 (JSON read by ``loads``), or TariffError naming the field."""
    data = _object(value, path)
    _fields(data, path, _TARIFF_FIELDS)
    country_code = _text(_required(data, "country_code", path), _join(path, "country_code"), 2)
    party_id = _text(_required(data, "party_id", path), _join(path, "party_id"), 3)
    tariff_id = _text(_required(data, "id", path), _join(path, "id"), 36)
    currency = check_currency(_required(data, "currency", path), _join(path, "currency"))
    elements_path = _join(path, "elements")
    raw = _list(_required(data, "elements", path), elements_path, non_empty=True)
    elements = tuple(_element(e, f"{elements_path}[{i}]") for i, e in enumerate(raw))
    alt_texts_path = _join(path, "tariff_alt_text")
    alt_texts = tuple(
        _display_text(t, f"{alt_texts_path}[{i}]")
        for i, t in enumerate(_list(data.get("tariff_alt_text") or [], alt_texts_path))
    )
    energy_mix = _optional(data, "energy_mix", path, _object)
    tariff = Tariff(
        country_code=country_code,
        party_id=party_id,
        id=tariff_id,
        currency=currency,
        elements=elements,
        last_updated=parse_datetime(
            _required(data, "last_updated", path), _join(path, "last_updated")
        ),
        type=_optional(data, "type", path, lambda v, p: _enum(TariffType, v, p)),
        tariff_alt_text=alt_texts,
        tariff_alt_url=_optional(data, "tariff_alt_url", path, lambda v, p: _text(v, p, 255)),
        min_price=_optional(data, "min_price", path, _price),
        max_price=_optional(data, "max_price", path, _price),
        start_date_time=_optional(data, "start_date_time", path, parse_datetime),
        end_date_time=_optional(data, "end_date_time", path, parse_datetime),
        energy_mix=dict(energy_mix) if energy_mix is not None else None,
    )
    if tariff.min_price is not None and tariff.max_price is not None:
        _not_above(
            tariff.min_price.excl_vat,
            tariff.max_price.excl_vat,
            path,
            "min_price.excl_vat",
            "max_price.excl_vat",
        )
        _not_above(
            tariff.min_price.incl_vat,
            tariff.max_price.incl_vat,
            path,
            "min_price.incl_vat",
            "max_price.incl_vat",
        )
    if (
        tariff.start_date_time is not None
        and tariff.end_date_time is not None
        and tariff.start_date_time >= tariff.end_date_time
    ):
        raise TariffError(
            f"must come after {_join(path, 'start_date_time')}",
            _join(path, "end_date_time"),
            "date_order",
            other=_join(path, "start_date_time"),
        )
    return tariff


# --- writing ------------------------------------------------------------------------------------


def price_to_ocpi(price: Price) -> dict[str, Any]:
    out: dict[str, Any] = {"excl_vat": price.excl_vat}
    if price.incl_vat is not None:
        out["incl_vat"] = price.incl_vat
    return out


def _restrictions_to_ocpi(r: TariffRestrictions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _RESTRICTION_FIELDS:
        value = getattr(r, name)
        if value is None or value == ():
            continue
        if isinstance(value, time):
            out[name] = value.strftime("%H:%M")
        elif isinstance(value, date):
            out[name] = value.isoformat()
        elif name == "day_of_week":
            out[name] = [day.value for day in value]
        elif isinstance(value, enum.Enum):
            out[name] = value.value
        else:
            out[name] = value
    return out


def _component_to_ocpi(c: PriceComponent) -> dict[str, Any]:
    out: dict[str, Any] = {"type": c.type.value, "price": c.price}
    if c.vat is not None:
        out["vat"] = c.vat
    out["step_size"] = c.step_size
    return out


def tariff_to_ocpi(tariff: Tariff) -> dict[str, Any]:
    """The Tariff object of OCPI 2.2.1, fields in the module's order, unset ones left out."""
    out: dict[str, Any] = {
        "country_code": tariff.country_code,
        "party_id": tariff.party_id,
        "id": tariff.id,
        "currency": tariff.currency,
    }
    if tariff.type is not None:
        out["type"] = tariff.type.value
    if tariff.tariff_alt_text:
        out["tariff_alt_text"] = [
            {"language": t.language, "text": t.text} for t in tariff.tariff_alt_text
        ]
    if tariff.tariff_alt_url is not None:
        out["tariff_alt_url"] = tariff.tariff_alt_url
    if tariff.min_price is not None:
        out["min_price"] = price_to_ocpi(tariff.min_price)
    if tariff.max_price is not None:
        out["max_price"] = price_to_ocpi(tariff.max_price)
    elements = []
    for element in tariff.elements:
        written: dict[str, Any] = {
            "price_components": [_component_to_ocpi(c) for c in element.price_components]
        }
        if element.restrictions is not None:
            written["restrictions"] = _restrictions_to_ocpi(element.restrictions)
        elements.append(written)
    out["elements"] = elements
    if tariff.start_date_time is not None:
        out["start_date_time"] = write_datetime(tariff.start_date_time)
    if tariff.end_date_time is not None:
        out["end_date_time"] = write_datetime(tariff.end_date_time)
    if tariff.energy_mix is not None:
        out["energy_mix"] = dict(tariff.energy_mix)
    out["last_updated"] = write_datetime(tariff.last_updated)
    return out


# --- a CDR's charging periods -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CdrSession:
    """What pricing needs of an OCPI CDR."""

    start_date_time: datetime
    end_date_time: datetime
    currency: str
    charging_periods: tuple[ChargingPeriod, ...]


def _charging_period(value: Any, path: str) -> ChargingPeriod:
    data = _object(value, path)
    start = parse_datetime(_required(data, "start_date_time", path), _join(path, "start_date_time"))
    dims_path = _join(path, "dimensions")
    dimensions: dict[CdrDimension, Decimal] = {}
    for i, raw in enumerate(_list(_required(data, "dimensions", path), dims_path, non_empty=True)):
        dim_path = f"{dims_path}[{i}]"
        dim = _object(raw, dim_path)
        kind = _enum(CdrDimension, _required(dim, "type", dim_path), _join(dim_path, "type"))
        if kind in dimensions:
            raise TariffError("given twice in one period", _join(dim_path, "type"), "duplicate")
        dimensions[kind] = _number(_required(dim, "volume", dim_path), _join(dim_path, "volume"))
    tariff_id = _optional(data, "tariff_id", path, lambda v, p: _text(v, p, 36))
    return ChargingPeriod(start, dimensions, tariff_id)


def parse_charging_periods(
    value: Any, path: str = "charging_periods"
) -> tuple[ChargingPeriod, ...]:
    periods = tuple(_charging_period(p, f"{path}[{i}]") for i, p in enumerate(_list(value, path)))
    for i in range(1, len(periods)):
        if periods[i].start_date_time < periods[i - 1].start_date_time:
            raise TariffError(
                "starts before the period before it",
                f"{path}[{i}].start_date_time",
                "period_order",
            )
    return periods


def parse_cdr(value: Any, path: str = "") -> CdrSession:
    """The session of an OCPI CDR (its other fields are left as they are)."""
    data = _object(value, path)
    start = parse_datetime(_required(data, "start_date_time", path), _join(path, "start_date_time"))
    end = parse_datetime(_required(data, "end_date_time", path), _join(path, "end_date_time"))
    if end < start:
        raise TariffError(
            f"must not come before {_join(path, 'start_date_time')}",
            _join(path, "end_date_time"),
            "before_start",
            other=_join(path, "start_date_time"),
        )
    currency = check_currency(_required(data, "currency", path), _join(path, "currency"))
    periods_path = _join(path, "charging_periods")
    periods = parse_charging_periods(_required(data, "charging_periods", path), periods_path)
    for i, period in enumerate(periods):
        if not start <= period.start_date_time <= end:
            raise TariffError(
                "lies outside the session",
                f"{periods_path}[{i}].start_date_time",
                "outside_session",
            )
    return CdrSession(start, end, currency, periods)


def price_cdr(
    tariff: Tariff,
    cdr: Mapping[str, Any],
    *,
    time_zone: str | tzinfo = DEFAULT_TIME_ZONE,
) -> dict[str, Any]:
    """The CDR (OCPI JSON read by ``loads``) with the totals its charging periods cost under
    ``tariff``; its other fields are kept as they are."""
    session = parse_cdr(cdr)
    priced = price_session(
        tariff,
        session.charging_periods,
        session.start_date_time,
        session.end_date_time,
        time_zone=time_zone,
        currency=session.currency,
    )
    out = dict(cdr)
    out["total_cost"] = price_to_ocpi(priced.total_cost)
    out["total_fixed_cost"] = price_to_ocpi(priced.total_fixed_cost)
    measured = {kind for period in session.charging_periods for kind in period.dimensions}
    # A CDR whose periods measured no energy (or parking) keeps the total it states.
    if CdrDimension.ENERGY in measured or "total_energy" not in cdr:
        out["total_energy"] = priced.total_energy
    out["total_energy_cost"] = price_to_ocpi(priced.total_energy_cost)
    out["total_time"] = priced.total_time.quantize(Decimal("0.000001"), ROUND_HALF_UP).normalize()
    out["total_time_cost"] = price_to_ocpi(priced.total_time_cost)
    if CdrDimension.PARKING_TIME in measured or "total_parking_time" not in cdr:
        out["total_parking_time"] = priced.total_parking_time
    out["total_parking_cost"] = price_to_ocpi(priced.total_parking_cost)
    if priced.total_reservation_time or "total_reservation_cost" in cdr:
        out["total_reservation_cost"] = price_to_ocpi(priced.total_reservation_cost)
    return out
