"""Numbers, amounts, energy, durations, dates and times as the language of the moment writes them.

Exports meant for machines (CSV, the API's JSON) keep machine formats and never come here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import (
    format_date,
    format_datetime,
    get_date_format,
    get_datetime_format,
    get_time_format,
)
from babel.numbers import format_decimal

from voltflow.i18n import language

# Babel's locale behind each language: Belgian Dutch and French; English as written in Europe
# (day first, 24-hour clock).
FORMAT_LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "en": "en_GB"}
# Belgian usage puts the euro sign first in both national languages (CLDR's fr_BE puts it last).
CURRENCY_PATTERNS = {"nl": "¤ #,##0.00", "fr": "¤ #,##0.00", "en": "¤#,##0.00"}
DASH = "–"
# English keeps the console's unambiguous ISO dates, which its readers (and exports) know.
ISO_PATTERNS = {
    "en": {"date": "yyyy-MM-dd", "short": "yyyy-MM-dd HH:mm", "medium": "yyyy-MM-dd HH:mm:ss"}
}


def locale(lang: str | None = None) -> Locale:
    return _locale(lang or language())


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(FORMAT_LOCALES.get(lang, "en_GB"))


# Pages write many figures and times: Babel's general formatting costs tens of microseconds a
# call, so the patterns used here are read from CLDR once per language and applied directly.
@cache
def _symbols(lang: str) -> tuple[str, str]:
    symbols = _locale(lang).number_symbols.get("latn", {})
    return symbols.get("group", ","), symbols.get("decimal", ".")


def number(value: Decimal | int | float | None, digits: int | None = None) -> str:
    """``1234.5`` → ``1.234,5`` (nl), ``1 234,5`` (fr: a narrow space groups), ``1,234.5`` (en);
    rounded half-up to ``digits`` decimals when given."""
    if value is None:
        return DASH
    if digits is None:
        return format_decimal(value, locale=locale())
    exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    text = f"{exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP):,.{digits}f}"
    group, decimal = _symbols(language())
    if (group, decimal) == (",", "."):
        return text
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


def money(amount: Decimal | int | None, currency: str | None = None) -> str:
    """``€ 2,44`` (nl, fr), ``€2.44`` (en); without a currency the figure alone, to the cent or
    with the decimals a price per kWh has."""
    if amount is None:
        return DASH
    value = Decimal(str(amount))
    cents = value.quantize(Decimal("0.01"))
    exponent = value.normalize().as_tuple().exponent
    digits = 2 if cents == value else min(-exponent if isinstance(exponent, int) else 2, 6)
    figure = number(value, digits)
    if not currency:
        return figure
    lang = language()
    pattern = CURRENCY_PATTERNS.get(lang, CURRENCY_PATTERNS["en"])
    sign = ""
    if figure.startswith("-"):
        sign, figure = "-", figure[1:]
    symbol = _locale(lang).currency_symbols.get(currency, currency)
    return sign + pattern.replace("#,##0.00", figure).replace("¤", symbol)


def kwh(wh: int | None) -> str:
    """Energy to the watt-hour: ``3,667 kWh`` (nl, fr), ``3.667 kWh`` (en)."""
    if wh is None:
        return DASH
    if type(wh) is not int:
        return f"{number(Decimal(wh) / 1000, 3)} kWh"
    # Whole watt-hours are exact in three decimals: no Decimal needed (a list writes one a row).
    whole, rest = divmod(abs(wh), 1000)
    group, decimal = _symbols(language())
    grouped = f"{whole:,}" if group == "," else f"{whole:,}".replace(",", group)
    return f"{'-' if wh < 0 else ''}{grouped}{decimal}{rest:03d} kWh"


def duration(value: timedelta | None) -> str:
    """``0:15:00`` in every language, as the activity screens show it."""
    if value is None:
        return DASH
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    return f"{sign}{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def month(day: date) -> str:
    """The month ``day`` is in, with its year: ``november 2026`` (nl), ``novembre 2026`` (fr),
    ``November 2026`` (en)."""
    return str(format_date(day, "LLLL y", locale=locale()))


def when(value: datetime | date | None, timezone: str, style: str = "medium") -> str:
    """A moment in the person's time zone (storage is UTC), or a calendar date as it is: CLDR's
    "short" (to the minute) or "medium" (to the second) pattern, "date" for the day alone."""
    if value is None:
        return DASH
    lang = language()
    if not isinstance(value, datetime) or style == "date":
        if isinstance(value, datetime):
            value = _zoned(value, timezone)
        return _compiled(lang, "date")(value)
    precision: Literal["short", "medium"] = "short" if style == "short" else "medium"
    return _compiled(lang, precision)(_zoned(value, timezone))


def moments(timezone: str, lang: str | None = None) -> Callable[[Any, str], str]:
    """:func:`when` for one page: the time zone and the language's patterns looked up once, not
    at each of the page's times."""
    zone = _zone(timezone)
    lang = lang or language()
    patterns = {style: _compiled(lang, style) for style in ("short", "medium", "date")}

    def local(value: datetime | date | None, style: str = "medium") -> str:
        if value is None:
            return DASH
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            value = value.astimezone(zone)
            if style != "date":
                return patterns["short" if style == "short" else "medium"](value)
        return patterns["date"](value)

    return local


_FIELD = re.compile(r"'[^']*'|([a-zA-Z])\1*")


@cache
def _compiled(lang: str, style: Literal["short", "medium", "date"]) -> Callable[[Any], str]:
    """CLDR's pattern for ``style`` in ``lang`` as one f-string of the date's fields."""
    loc = _locale(lang)
    if lang in ISO_PATTERNS:
        pattern = ISO_PATTERNS[lang][style]
    elif style == "date":
        pattern = str(get_date_format("medium", locale=loc).pattern)
    else:
        template = str(get_datetime_format(style, locale=loc))
        pattern = template.replace("{1}", str(get_date_format(style, locale=loc).pattern))
        pattern = pattern.replace("{0}", str(get_time_format(style, locale=loc).pattern))
    # Plain tuples: Babel's locale data is a mapping whose lookups cost a call each.
    months = ("", *(loc.months["format"]["abbreviated"][n] for n in range(1, 13)))
    wide = ("", *(loc.months["format"]["wide"][n] for n in range(1, 13)))
    out: list[str] = []
    at = 0
    for match in _FIELD.finditer(pattern):
        out.append(pattern[at : match.start()].replace("{", "{{").replace("}", "}}"))
        token = match.group(0)
        at = match.end()
        if token.startswith("'"):
            out.append((token[1:-1] or "'").replace("{", "{{").replace("}", "}}"))
            continue
        field = _FIELDS.get(token)
        if field is None:  # a field these patterns do not use: Babel's own, slower, way

            def slow(v: Any, p: str = pattern, loc: Locale = loc) -> str:
                if isinstance(v, datetime):
                    return format_datetime(v, p, locale=loc)
                return format_date(v, p, locale=loc)

            return slow
        out.append(field)
    out.append(pattern[at:].replace("{", "{{").replace("}", "}}"))
    # One f-string over the fields the pattern uses, compiled once: a page formats a time a row.
    source = "lambda v: f" + repr("".join(out))
    code: Callable[[Any], str] = eval(source, {"months": months, "wide": wide})
    return code


# CLDR's fields as f-string replacement fields of the date ``v`` (the source of the function
# ``_compiled`` builds: the pattern itself is data from CLDR, the fields only these).
_FIELDS = {
    "d": "{v.day}",
    "dd": "{v.day:02d}",
    "M": "{v.month}",
    "MM": "{v.month:02d}",
    "MMM": "{months[v.month]}",
    "LLL": "{months[v.month]}",
    "MMMM": "{wide[v.month]}",
    "LLLL": "{wide[v.month]}",
    "y": "{v.year}",
    "yyyy": "{v.year:04d}",
    "yy": "{v.year % 100:02d}",
    "H": "{v.hour}",
    "HH": "{v.hour:02d}",
    "mm": "{v.minute:02d}",
    "ss": "{v.second:02d}",
}


def _zoned(value: datetime, timezone: str) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(_zone(timezone))


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
