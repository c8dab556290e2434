"""Numbers, amounts, energy, durations, dates and times as the language of the moment writes them.

Exports meant for machines (CSV, the API's JSON) keep machine formats and never come here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from voltflow.i18n import language

# Babel's locale behind each language: Belgian Dutch and French; English as written in Europe
# (day first, 24-hour clock).
FORMAT_LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "en": "en_GB"}
# Belgian usage puts the euro sign first in both national languages (CLDR's fr_BE puts it last).
CURRENCY_PATTERNS = {"nl": "¤ #,##0.00", "fr": "¤ #,##0.00", "en": "¤#,##0.00"}
DASH = "–"


def locale(lang: str | None = None) -> Locale:
    return _locale(lang or language())


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(FORMAT_LOCALES.get(lang, "en_GB"))


def number(value: Decimal | int | float | None, digits: int | None = None) -> str:
    """``1234.5`` → ``1.234,5`` (nl, fr: a narrow space groups) or ``1,234.5`` (en)."""
    if value is None:
        return DASH
    pattern = None if digits is None else "#,##0." + "0" * digits if digits else "#,##0"
    return format_decimal(value, format=pattern, locale=locale(), decimal_quantization=True)


def money(amount: Decimal | int | None, currency: str | None = None) -> str:
    """``€ 2,44`` (nl, fr), ``€2.44`` (en); without a currency the figure alone, to the cent or
    with the decimals a price per kWh has."""
    if amount is None:
        return DASH
    value = Decimal(str(amount))
    cents = value.quantize(Decimal("0.01"))
    exponent = value.normalize().as_tuple().exponent
    digits = 2 if cents == value else min(-exponent if isinstance(exponent, int) else 2, 6)
    if not currency:
        return number(value, digits)
    lang = language()
    pattern = CURRENCY_PATTERNS.get(lang, CURRENCY_PATTERNS["en"])
    if digits > 2:
        pattern = pattern.replace("0.00", "0." + "0" * digits)
    return format_currency(value, currency, format=pattern, locale=locale(), currency_digits=False)


def kwh(wh: int | None) -> str:
    """Energy to the watt-hour: ``3,667 kWh`` (nl, fr), ``3.667 kWh`` (en)."""
    if wh is None:
        return DASH
    return f"{number(Decimal(wh) / 1000, 3)} kWh"


def duration(value: timedelta | None) -> str:
    """``0:15:00`` in every language, as the activity screens show it."""
    if value is None:
        return DASH
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    return f"{sign}{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def when(value: datetime | date | None, timezone: str, style: str = "medium") -> str:
    """A moment in the person's time zone (storage is UTC), or a calendar date as it is."""
    if value is None:
        return DASH
    if not isinstance(value, datetime) or style == "date":
        if isinstance(value, datetime):
            value = _zoned(value, timezone)
        return format_date(value, "medium", locale=locale())
    # CLDR's own patterns: "short" to the minute, "medium" to the second.
    return format_datetime(
        _zoned(value, timezone), "short" if style == "short" else "medium", locale=locale()
    )


def _zoned(value: datetime, timezone: str) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(timezone))
