"""Tariffs that price a session from its energy alone, in whole numbers: what lets many sessions be
priced at once by the database (``store.session_prices``) instead of one by one by the engine.

A tariff version is *linear* when none of its elements has restrictions, it has no min/max
price, and its components are only ENERGY and FLAT (a public €/kWh with a start fee, a host's
remuneration, a discount list's tariff). The engine (``pricing.price_session``) then prices any
session the same way, whatever its times: the first element with an ENERGY component prices all
the energy, rounded up once to its step_size on the session's total, and the first with a FLAT
component adds its fee once. Each line is charged half-up to the cent and the totals are the sum
of the lines, so in cents, for ``wh`` Wh charged (none when ``wh`` ≤ 0):

    billed = ⌈wh / step⌉ · step
    excl   = half_up(billed · price / 10)                 + half_up(flat · 100)
    incl   = half_up(billed · price / 10 · (1 + vat/100)) + half_up(flat · 100 · (1 + vat/100))

``LinearTerms`` holds these as integers (each rate a reduced fraction), small enough that every
product stays within 63 bits for a session of up to ``MAX_WH``; ``linear_price`` is the formula
in Python, and the tests hold it to the engine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from voltflow.domain.money import MINOR_UNITS
from voltflow.domain.tariffs.model import (
    Tariff,
    TariffDimension,
    TariffRestrictions,
    TariffVersion,
    in_force,
)

# The most energy a session may have to be priced in whole numbers (1 GWh): more goes the
# engine's way. Every product below then stays under 2⁶² (SQLite turns an overflowing integer
# into a float without a word).
MAX_WH = 10**9
_LIMIT = 2**62
_NO_RESTRICTIONS = TariffRestrictions()
_LINEAR_DIMENSIONS = frozenset({TariffDimension.ENERGY, TariffDimension.FLAT})


@dataclass(frozen=True, slots=True)
class LinearTerms:
    """A linear tariff version as whole numbers: cents excl./incl. VAT for ``billed`` Wh are
    half_up(billed · num / den); the FLAT fee's cents are already rounded."""

    tariff_id: str
    version: int
    step_wh: int
    excl_num: int
    excl_den: int
    incl_num: int
    incl_den: int
    flat_excl: int
    flat_incl: int


@dataclass(frozen=True, slots=True)
class TariffSpan:
    """Sessions of ``tariff_id`` started in [valid_from, valid_until) are priced by one version:
    ``terms`` when it is linear, None when only the engine can price them."""

    tariff_id: str
    valid_from: datetime
    valid_until: datetime | None
    version: int
    terms: LinearTerms | None


def half_up(value: Fraction) -> int:
    """To the nearest whole number, a half away from zero (the engine's rounding, in cents)."""
    if value >= 0:
        return math.floor(value + Fraction(1, 2))
    return -math.floor(-value + Fraction(1, 2))


def is_linear(tariff: Tariff) -> bool:
    """No restrictions, no min/max price, only ENERGY and FLAT (see the module's text)."""
    return (
        tariff.min_price is None
        and tariff.max_price is None
        and all(
            element.restrictions in (None, _NO_RESTRICTIONS)
            and all(c.type in _LINEAR_DIMENSIONS for c in element.price_components)
            for element in tariff.elements
        )
    )


def linear_terms(version: TariffVersion, currency: str) -> LinearTerms | None:
    """The version's whole-number terms, or None when the engine must price it: not linear,
    another currency than the one priced in (the engine refuses it), a negative price or VAT,
    a step below 1 Wh, or numbers too large for 63 bits."""
    tariff = version.tariff
    if not is_linear(tariff) or tariff.currency != currency or MINOR_UNITS[currency] != 2:
        return None
    energy = next(
        (c for e in tariff.elements if (c := e.component(TariffDimension.ENERGY)) is not None),
        None,
    )
    flat = next(
        (c for e in tariff.elements if (c := e.component(TariffDimension.FLAT)) is not None), None
    )
    for component in (energy, flat):
        if component is not None and (
            component.price < 0 or (component.vat is not None and component.vat < 0)
        ):
            return None
    excl, incl, step = Fraction(0), Fraction(0), 1
    if energy is not None:
        if energy.step_size < 1:
            return None
        step = energy.step_size
        excl = Fraction(energy.price) / 10
        incl = excl if energy.vat is None else excl * (1 + Fraction(energy.vat) / 100)
    flat_excl, flat_incl = 0, 0
    if flat is not None:
        fee = Fraction(flat.price) * 100
        flat_excl = half_up(fee)
        flat_incl = half_up(fee if flat.vat is None else fee * (1 + Fraction(flat.vat) / 100))
    most = MAX_WH + step
    for rate in (excl, incl):
        if 2 * most * rate.numerator + rate.denominator >= _LIMIT:
            return None
    if 2 * max(excl.denominator, incl.denominator) >= _LIMIT or step > MAX_WH:
        return None
    if max(flat_excl, flat_incl) >= _LIMIT // 4 or (
        half_up(most * incl) + flat_incl >= _LIMIT // 4
    ):
        return None
    return LinearTerms(
        tariff_id=version.tariff_id,
        version=version.version,
        step_wh=step,
        excl_num=excl.numerator,
        excl_den=excl.denominator,
        incl_num=incl.numerator,
        incl_den=incl.denominator,
        flat_excl=flat_excl,
        flat_incl=flat_incl,
    )


def billed_wh(wh: int, step: int) -> int:
    """The Wh billed: none for none, else rounded up to the step."""
    return 0 if wh <= 0 else -(-wh // step) * step


def linear_price(terms: LinearTerms, wh: int) -> tuple[int, int]:
    """What the version charges for ``wh`` Wh, in cents: (excl. VAT, incl. VAT)."""
    billed = billed_wh(wh, terms.step_wh)
    return (
        half_up(Fraction(billed * terms.excl_num, terms.excl_den)) + terms.flat_excl,
        half_up(Fraction(billed * terms.incl_num, terms.incl_den)) + terms.flat_incl,
    )


def spans(versions: Sequence[TariffVersion], currency: str) -> list[TariffSpan]:
    """When each version of one tariff prices the sessions that start then (``in_force``), as
    stretches of time in order; a time no version covers is left out (nothing prices it). A
    stretch where the version in force says itself that it is not (its own start or end date
    differs from when it is stored to be in force) gets no terms: the engine refuses it."""
    bounds: set[datetime] = set()
    for v in versions:
        bounds.add(v.valid_from)
        if v.valid_until is not None:
            bounds.add(v.valid_until)
        for moment in (v.tariff.start_date_time, v.tariff.end_date_time):
            if moment is not None:
                bounds.add(moment)
    ordered = sorted(bounds)
    found: list[TariffSpan] = []
    for index, start in enumerate(ordered):
        until = ordered[index + 1] if index + 1 < len(ordered) else None
        version = in_force(versions, start)
        if version is None:
            continue
        terms = linear_terms(version, currency) if version.tariff.in_force_at(start) else None
        last = found[-1] if found else None
        if (
            last is not None
            and last.valid_until == start
            and (last.version, last.terms) == (version.version, terms)
        ):
            found[-1] = TariffSpan(last.tariff_id, last.valid_from, until, last.version, terms)
            continue
        found.append(TariffSpan(version.tariff_id, start, until, version.version, terms))
    return found
