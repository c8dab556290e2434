"""The catalogs' check, the language negotiation and the formats of each language."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from voltflow.i18n import (
    LOCALE_DIR,
    _,
    catalogs,
    formats,
    negotiate,
    ngettext,
    pgettext,
    reset_cache,
    supported,
    terms,
    use,
)

PACKAGE = catalogs.PACKAGE


def test_the_catalogs_are_complete() -> None:
    assert catalogs.check() == []


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """The package's sources and templates, to add a message to without touching the real ones."""
    copy = tmp_path / "voltflow"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.po", "*.pot"))
    return copy


def test_a_new_untranslated_message_fails_the_check(package_copy: Path) -> None:
    (package_copy / "services" / "brand_new.py").write_text(
        'from voltflow.i18n import _\n\nMESSAGE = _("A sentence nobody has translated yet")\n'
    )
    problems = [str(p) for p in catalogs.check_catalogs(package_copy, LOCALE_DIR)]
    assert any("missing" in p and "A sentence nobody has translated yet" in p for p in problems)
    assert {p.split(":", 1)[0].split("/")[-3] for p in problems} == {"nl", "fr"}


def test_a_new_message_in_a_template_fails_the_check(package_copy: Path) -> None:
    page = package_copy / "web" / "templates" / "login.html"
    page.write_text(page.read_text() + '{{ _("Forgot your password?") }}\n')
    problems = [str(p) for p in catalogs.check_catalogs(package_copy, LOCALE_DIR)]
    assert any("Forgot your password?" in p for p in problems)


def test_a_fuzzy_or_wrong_translation_fails_the_check(tmp_path: Path) -> None:
    locale_dir = tmp_path / "voltflow" / "i18n" / "locale"
    shutil.copytree(LOCALE_DIR, locale_dir)
    po = locale_dir / "fr" / "LC_MESSAGES" / "messages.po"
    text = po.read_text()
    text = text.replace(
        'msgid "Wrong username or password."', '#, fuzzy\nmsgid "Wrong username or password."'
    )
    text = text.replace(
        'msgstr "Client %(name)s créé : ajoutez ses personnes et son contrat."',
        'msgstr "Client %(nom)s créé : ajoutez ses personnes et son contrat."',
    )
    po.write_text(text)
    problems = [str(p) for p in catalogs.check_catalogs(PACKAGE, locale_dir)]
    assert any("fuzzy" in p and "Wrong username or password." in p for p in problems)
    assert any("Customer %(name)s created" in p for p in problems)


def test_every_template_renders_in_every_language() -> None:
    assert catalogs.check_templates() == []


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("fr-BE,fr;q=0.9,en;q=0.8", "fr"),
        ("nl-BE", "nl"),
        ("de-DE,nl;q=0.5,fr;q=0.7", "fr"),
        ("de-DE", None),
        ("xx", None),
        ("", None),
        ("en-US,en;q=0.9", "en"),
        ("fr;q=0, nl", "nl"),
    ],
)
def test_accept_language(header: str, language: str | None) -> None:
    assert negotiate(header) == language


def test_lang_of_a_shell() -> None:
    assert supported("fr_BE.UTF-8") == "fr"
    assert supported("nl_BE") == "nl"
    assert supported("C.UTF-8") is None


def test_session_types_as_the_release_note_names_them() -> None:
    reset_cache()
    with use("fr"):
        assert [terms.session_type(t) for t in ("normal", "split_billing", "whitelist")] == [
            "Normal",
            "Split billing",
            "Liste blanche",
        ]
        assert terms.session_type("invalid") == "Non valable"
    with use("nl"):
        assert terms.session_type("whitelist") == "Witte lijst"
    assert terms.session_type("invalid") == "Invalid"


def test_context_tells_a_charging_session_from_a_login() -> None:
    with use("fr"):
        assert pgettext("charging", "Sessions") == "Sessions de recharge"
        assert pgettext("login", "Your sessions") == "Vos sessions"


def test_plural_forms() -> None:
    with use("nl"):
        assert ngettext("%(n)s minute", "%(n)s minutes", 1) % {"n": 1} == "1 minuut"
        assert ngettext("%(n)s minute", "%(n)s minutes", 5) % {"n": 5} == "5 minuten"
    with use("fr"):
        assert ngettext("%(n)s minute", "%(n)s minutes", 0) % {"n": 0} == "0 minute"
        assert ngettext("%(n)s minute", "%(n)s minutes", 2) % {"n": 2} == "2 minutes"


def test_unknown_language_speaks_english() -> None:
    with use("xx"):
        assert _("Wrong username or password.") == "Wrong username or password."


@pytest.mark.parametrize(
    ("language", "amount", "energy", "price"),
    [
        ("nl", "€ 2,44", "3,667 kWh", "€ 0,6654"),
        ("fr", "€ 2,44", "3,667 kWh", "€ 0,6654"),
        ("en", "€2.44", "3.667 kWh", "€0.6654"),
    ],
)
def test_formats(language: str, amount: str, energy: str, price: str) -> None:
    with use(language):
        assert formats.money(Decimal("2.44"), "EUR") == amount
        assert formats.money(Decimal("0.6654"), "EUR") == price
        assert formats.kwh(3667) == energy
        assert formats.duration(timedelta(minutes=15)) == "0:15:00"


def test_times_in_the_persons_time_zone() -> None:
    moment = datetime(2026, 1, 31, 13, 5, tzinfo=UTC)
    with use("nl"):
        assert formats.when(moment, "Europe/Brussels", "short") == "31/01/2026, 14:05"
    with use("fr"):
        assert formats.when(moment, "Europe/Brussels", "date") == "31 janv. 2026"
    with use("en"):
        assert formats.when(moment, "Europe/London", "short") == "2026-01-31 13:05"
