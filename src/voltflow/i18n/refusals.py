"""The domain's refusals in the language of the moment.

The domain imports nothing of Voltflow, so its errors say English (for logs) and carry what
broke which rule: an illegal card step its action and state, an eMAID error its reason and text,
a contract error its reason and values, a station key its fault, a tariff error its
field path, reason and values. The services, where such an
error turns into one of theirs, say it to people through these functions. In English each gives
the domain's own text, word for word (an IBAN's or BIC's fault in the bank library's words).
"""

from __future__ import annotations

from collections.abc import Callable

from voltflow.domain.cards import TRANSITIONS, CardAction, IllegalTransition
from voltflow.domain.contracts import ContractError
from voltflow.domain.emaid import EmaidError
from voltflow.domain.station_keys import KEY_MAX, KEY_MIN, KEY_SYMBOLS, KeyFault, key_fault
from voltflow.domain.tariffs import TariffError
from voltflow.i18n import SOURCE, _, language, ngettext
from voltflow.i18n.terms import card_state

# One sentence per step: the verb agrees with its object differently in each language.
_CANNOT: dict[CardAction, Callable[[], str]] = {
    CardAction.DISTRIBUTE: lambda: _(
        "cannot distribute a card that is %(state)s (only from: %(allowed)s)"
    ),
    CardAction.RETURN_TO_STOCK: lambda: _(
        "cannot return to stock a card that is %(state)s (only from: %(allowed)s)"
    ),
    CardAction.ASSIGN: lambda: _("cannot assign a card that is %(state)s (only from: %(allowed)s)"),
    CardAction.UNASSIGN: lambda: _(
        "cannot unassign a card that is %(state)s (only from: %(allowed)s)"
    ),
    CardAction.ACTIVATE: lambda: _(
        "cannot activate a card that is %(state)s (only from: %(allowed)s)"
    ),
    CardAction.BLOCK: lambda: _("cannot block a card that is %(state)s (only from: %(allowed)s)"),
    CardAction.UNBLOCK: lambda: _(
        "cannot unblock a card that is %(state)s (only from: %(allowed)s)"
    ),
    CardAction.REPORT_LOST: lambda: _(
        "cannot report lost a card that is %(state)s (only from: %(allowed)s)"
    ),
    CardAction.EXPIRE: lambda: _("cannot expire a card that is %(state)s (only from: %(allowed)s)"),
}


def illegal_transition(exc: IllegalTransition) -> str:
    """Why a card cannot take a step, with the states it could take it from."""
    froms, _target = TRANSITIONS[exc.action]
    allowed = ", ".join(sorted(card_state(s).lower() for s in froms))
    return _CANNOT[exc.action]() % {"state": card_state(exc.state).lower(), "allowed": allowed}


def emaid_error(exc: EmaidError) -> str:
    """Why a text is not a contract id."""
    if exc.reason == "check":
        return _("%(text)s: check character should be %(expected)s, not %(given)s") % {
            "text": repr(exc.text),
            "expected": exc.expected,
            "given": exc.given,
        }
    if exc.reason == "body":
        return _("an eMAID body is 14 letters or digits")
    return _(
        "%(text)s is not an eMAID: 2-letter country, 3-character provider, 9-character "
        "instance, optional check character (e.g. BE-VFL-C00000123-?)"
    ) % {"text": repr(exc.text)}


def _key_rule() -> str:
    return _("%(min)s–%(max)s characters of letters, digits and %(symbols)s") % {
        "min": KEY_MIN,
        "max": KEY_MAX,
        "symbols": KEY_SYMBOLS,
    }


def key_problem(key: object) -> str | None:
    """Why ``key`` cannot be a station's key, or None when it can."""
    fault = key_fault(key)
    if fault is None:
        return None
    if fault is KeyFault.NOT_TEXT:
        return _("a text of %(rule)s") % {"rule": _key_rule()}
    if fault is KeyFault.LENGTH:
        assert isinstance(key, str)
        return ngettext(
            "%(n)s character; a station key has %(rule)s",
            "%(n)s characters; a station key has %(rule)s",
            len(key),
        ) % {"n": len(key), "rule": _key_rule()}
    return _("a station key has %(rule)s") % {"rule": _key_rule()}


def _bank_fault(fault: str) -> str:
    faults = {
        "length": lambda: _("wrong length"),
        "country": lambda: _("unknown country code"),
        "checksum": lambda: _("wrong check digits"),
        "bank": lambda: _("unknown bank or branch code"),
        "account": lambda: _("not a valid account number"),
        "structure": lambda: _("not the form of this country's numbers"),
    }
    return faults.get(fault, lambda: _("not valid"))()


def contract_error(exc: ContractError) -> str:
    """What is wrong with a contract's input; the domain's English for a rule not known here."""
    v = exc.values
    reason = exc.reason
    if reason in ("iban", "bic") and language() == SOURCE:
        # The bank library's own English says more than the kind of fault translated here.
        return str(exc)
    if reason == "mandate_reference":
        return _("mandate reference: 1–35 letters, digits or + ? / - : ( ) . , ' and spaces")
    if reason == "iban":
        return _("IBAN %(iban)s: %(fault)s") % {
            "iban": repr(v["iban"]),
            "fault": _bank_fault(v["fault"]),
        }
    if reason == "bic":
        return _("BIC %(bic)s: %(fault)s") % {
            "bic": repr(v["bic"]),
            "fault": _bank_fault(v["fault"]),
        }
    if reason == "bic_country":
        return _("BIC %(bic)s is of %(bic_country)s, the IBAN of %(iban_country)s") % v
    if reason == "bic_required":
        return _("BIC: required, it cannot be derived from this IBAN")
    if reason == "mandate_signed_on":
        return _("mandate signature date is in the future")
    if reason == "negative_fee":
        return _("%(name)s: cannot be negative") % v
    if reason == "currency" and "currency" in v:
        return _("currency %(currency)s: one of %(known)s") % {
            "currency": repr(v["currency"]),
            "known": v["known"],
        }
    if reason == "ends_on":
        return _("ends_on: before the start")
    return str(exc)


def translated(exc: ContractError) -> ContractError:
    """The same error, said in the language of the moment (raise it ``from exc``)."""
    return ContractError(contract_error(exc), exc.field, exc.reason, **exc.values)


# What is wrong, by the tariff rule broken; the field path is said before it, as the domain does.
_TARIFF_PROBLEMS: dict[str, Callable[[], str]] = {
    "json": lambda: _("not JSON (%(error)s)"),
    "not_object": lambda: _("must be an object"),
    "unknown_field": lambda: _("is not a field of the OCPI module"),
    "missing": lambda: _("is required"),
    "not_text": lambda: _("must be text"),
    "length": lambda: _("at most %(length)s characters"),
    "not_number": lambda: _("must be a number"),
    "negative": lambda: _("must not be negative"),
    "not_integer": lambda: _("must be a whole number"),
    "not_list": lambda: _("must be a list"),
    "empty": lambda: _("must list at least one"),
    "unknown_value": lambda: _("%(value)s is not one of %(allowed)s"),
    "datetime": lambda: _("not a date and time like 2015-06-29T20:39:09Z"),
    "currency": lambda: _("%(value)s is not a currency we bill in (%(allowed)s)"),
    "time": lambda: _("a time of day like 13:30"),
    "date": lambda: _("a date like 2015-12-24"),
    "min_above_max": lambda: _("is above %(max_field)s"),
    "step_size": lambda: _("must be at least 1"),
    "empty_window": lambda: _("start_time and end_time are the same: a window of no time"),
    "date_order": lambda: _("must come after %(other)s"),
    "before_start": lambda: _("must not come before %(other)s"),
    "duplicate": lambda: _("given twice in one period"),
    "period_order": lambda: _("starts before the period before it"),
    "outside_session": lambda: _("lies outside the session"),
    "time_zone": lambda: _("%(value)s is not a time zone"),
    "currency_mismatch": lambda: _("the tariff is in %(tariff)s, what it prices in %(given)s"),
    "not_in_force": lambda: _("tariff %(tariff)s is not in force when the session starts"),
}


def tariff_error(exc: TariffError) -> str:
    """What is wrong with a tariff or what it prices, naming the field; the domain's English for
    a rule not known here."""
    problem = _TARIFF_PROBLEMS.get(exc.reason)
    if problem is None:
        return str(exc)
    said = problem() % exc.values
    if not exc.field:
        return said
    return _("%(field)s: %(problem)s") % {"field": exc.field, "problem": said}
