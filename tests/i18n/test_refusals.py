"""The domain's refusals as people read them: in English word for word the domain's own text,
in Dutch and French from the rule and values the error carries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from voltflow.domain.cards import CardAction, CardState, IllegalTransition, next_state
from voltflow.domain.contracts import (
    ContractError,
    check_period,
    subscription_plan,
    validate_mandate,
)
from voltflow.domain.emaid import EmaidError, check_character, parse_emaid
from voltflow.domain.station_keys import key_problem
from voltflow.i18n import refusals, reset_cache, use

TODAY = date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _catalogs() -> None:
    reset_cache()


def _illegal() -> list[IllegalTransition]:
    found = []
    for action in CardAction:
        for state in CardState:
            try:
                next_state(state, action)
            except IllegalTransition as exc:
                found.append(exc)
    return found


def _emaid_errors() -> list[EmaidError]:
    found = []
    for text in ("BE-VFL-C00000123-X", "B1-VFL-C00000123", "BE-VFLC00000123"):
        with pytest.raises(EmaidError) as info:
            parse_emaid(text)
        found.append(info.value)
    with pytest.raises(EmaidError) as info:
        check_character("BE")
    found.append(info.value)
    return found


def _contract_errors() -> list[ContractError]:
    found = []
    iban, bic, signed = "BE68 5390 0754 7034", "GKCCBEBB", date(2026, 1, 1)
    for reference, iban_, bic_, signed_ in (
        ("VF-1", "BE68 5390 0754 7035", bic, signed),
        ("VF-1", "BE68 5390 0754", bic, signed),
        ("VF-1", "XX68 5390 0754 7034", bic, signed),
        ("VF-1", iban, "GKCCXXBB", signed),
        ("VF-1", iban, "DEUTDEFF", signed),
        ("VF-1", iban, bic, date(2027, 1, 1)),
        ("", iban, bic, signed),
        ("VF€1", iban, bic, signed),
    ):
        with pytest.raises(ContractError) as info:
            validate_mandate(reference, iban_, bic_, signed_, TODAY)
        found.append(info.value)
    for currency, fee in (("EUR", Decimal(-1)), ("XXX", Decimal(1))):
        with pytest.raises(ContractError) as info:
            subscription_plan(currency, fee, Decimal(0), Decimal(0))
        found.append(info.value)
    with pytest.raises(ContractError) as info:
        check_period(date(2026, 1, 2), date(2026, 1, 1))
    found.append(info.value)
    return found


def test_in_english_they_say_the_domains_text() -> None:
    illegal = _illegal()
    assert {exc.action for exc in illegal} == set(CardAction)
    for transition in illegal:
        assert refusals.illegal_transition(transition) == str(transition)
    for emaid in _emaid_errors():
        assert refusals.emaid_error(emaid) == str(emaid)
    for contract in _contract_errors():
        assert refusals.contract_error(contract) == str(contract)
    for key in (None, 42, "short", "a" * 41, "a" * 20 + "é", "station-key-0001"):
        assert refusals.key_problem(key) == key_problem(key)


def test_in_dutch_and_french_from_the_rule_and_its_values() -> None:
    [block] = [
        e for e in _illegal() if (e.action, e.state) == (CardAction.BLOCK, CardState.IN_STOCK)
    ]
    with use("fr"):
        assert refusals.illegal_transition(block) == (
            "impossible de bloquer une carte qui est en stock (seulement depuis : active)"
        )
        assert refusals.emaid_error(_emaid_errors()[0]) == (
            "'BE-VFL-C00000123-X' : le caractère de contrôle devrait être U, pas X"
        )
        assert refusals.key_problem("short") == (
            "5 caractères ; une clé de borne compte 16 à 40 caractères parmi lettres, chiffres "
            "et * - _ = : + | @ ."
        )
        assert refusals.contract_error(_contract_errors()[0]) == (
            "IBAN 'BE68 5390 0754 7035' : chiffres de contrôle incorrects"
        )
    with use("nl"):
        assert refusals.illegal_transition(block) == (
            "kan een kaart die in voorraad is niet blokkeren (alleen vanuit: actief)"
        )
        assert refusals.key_problem("a") == (
            "1 teken; een laadpaalsleutel heeft 16–40 tekens uit letters, cijfers en "
            "* - _ = : + | @ ."
        )


def test_a_translated_contract_error_keeps_its_field_and_rule() -> None:
    error = _contract_errors()[4]  # a BIC of another country than the IBAN's
    with use("fr"):
        said = refusals.translated(error)
    assert (said.field, said.reason, said.values) == (error.field, error.reason, error.values)
    assert str(said) == "le BIC DEUTDEFF est de DE, l'IBAN de BE"
