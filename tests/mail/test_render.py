"""Mails rendered in each language from one layout: subjects, amounts and dates as the
recipient's language writes them, text and HTML saying the same."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from voltflow.domain.mail import CardBlocked, MailKind, PaymentLine, PaymentRequest
from voltflow.i18n import LANGUAGES, catalogs
from voltflow.mail import render as rendering
from voltflow.mail.render import render, text_table
from voltflow.mail.samples import SAMPLES

ONE_LINE = PaymentRequest(
    organisation="Acme",
    reference="PR-1",
    issued_on=date(2026, 4, 1),
    due_on=date(2026, 4, 15),
    currency="EUR",
    lines=(PaymentLine(date(2026, 3, 2), "Charger 1", 7250, Decimal("2.44")),),
)


@pytest.mark.parametrize(
    ("language", "amount", "energy", "day"),
    [
        ("nl", "€ 2,44", "7,250 kWh", "2 mrt 2026"),
        ("fr", "€ 2,44", "7,250 kWh", "2 mars 2026"),
        ("en", "€2.44", "7.250 kWh", "2026-03-02"),
    ],
)
def test_a_payment_request_in_each_language(
    language: str, amount: str, energy: str, day: str
) -> None:
    mail = render(ONE_LINE, language=language, timezone="Europe/Brussels")
    for body in (mail.text, mail.html):
        assert amount in body and energy in body and day in body
    assert mail.subject.endswith(amount)
    assert mail.language == language


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("nl", "Betaalverzoek PR-1: € 2,44"),
        ("fr", "Demande de paiement PR-1 : € 2,44"),
        ("en", "Payment request PR-1: €2.44"),
    ],
)
def test_subjects_are_translated(language: str, subject: str) -> None:
    assert render(ONE_LINE, language=language, timezone="Europe/Brussels").subject == subject


def test_the_total_is_the_sum_of_the_rounded_lines() -> None:
    lines = tuple(
        PaymentLine(date(2026, 3, 1), "x", 1000, Decimal(a)) for a in ("0.125", "0.125", "1")
    )
    request = PaymentRequest("Acme", "PR-2", date(2026, 4, 1), date(2026, 4, 2), "EUR", lines)
    assert request.total == Decimal("1.26")
    assert request.energy_wh == 3000


def test_times_are_in_the_recipients_time_zone() -> None:
    notice = CardBlocked("04A1", None, datetime(2026, 7, 1, 22, 30, tzinfo=UTC))
    brussels = render(notice, language="en", timezone="Europe/Brussels")
    lisbon = render(notice, language="en", timezone="Europe/Lisbon")
    assert "2026-07-02 00:30" in brussels.text
    assert "2026-07-01 23:30" in lisbon.text


def test_text_and_html_say_the_same_in_the_same_order() -> None:
    for content in SAMPLES.values():
        mail = render(content, language="nl", timezone="Europe/Brussels", name="An")
        # The text's paragraphs (not its indented facts and tables) appear in the HTML, in the
        # same order.
        lines = mail.text.splitlines()
        paragraphs = [t for t in lines if len(t) > 40 and not t.startswith((" ", "http"))]
        positions = [mail.html.find(p) for p in paragraphs]
        assert -1 not in positions, (paragraphs, mail.html)
        assert positions == sorted(positions)


def test_what_people_type_is_escaped_in_html_only() -> None:
    notice = CardBlocked("04A1", "<b>VF</b>", datetime(2026, 7, 1, tzinfo=UTC), "a & b")
    mail = render(notice, language="en", timezone="UTC")
    assert "&lt;b&gt;VF&lt;/b&gt;" in mail.html and "<b>VF</b>" not in mail.html
    assert "<b>VF</b>" in mail.text and "a & b" in mail.text
    assert mail.subject == "Your charging card <b>VF</b> is blocked"


def test_a_text_table_aligns_figures_right() -> None:
    table = text_table(
        [("Date", False), ("Amount", True)], [["1 mar", "€ 2,44"], ["12 mar", "€ 12,00"]], ["", "x"]
    )
    assert table.splitlines() == [
        "  Date     Amount",
        "  1 mar    € 2,44",
        "  12 mar  € 12,00",
        "  ------  -------",
        "                x",
    ]


def test_every_mail_template_renders_in_every_language() -> None:
    assert catalogs.check_mail_templates() == []


@pytest.fixture
def templates_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The mail templates, copied, for a test to break without touching the real ones."""
    copy = tmp_path / "templates"
    shutil.copytree(rendering.TEMPLATES, copy)
    monkeypatch.setattr(rendering, "TEMPLATES", copy)
    rendering._environment.cache_clear()
    yield copy
    rendering._environment.cache_clear()


def test_a_kind_without_a_sample_or_a_stray_template_fails_the_check(
    templates_copy: Path,
) -> None:
    without = {k: v for k, v in SAMPLES.items() if k is not MailKind.CARD_BLOCKED}
    assert [w for w, _p in rendering.check(without)] == ["mail/card_blocked.html"]
    (templates_copy / "forgotten.html").write_text("{{ _('Nobody renders me') }}")
    assert [w for w, _p in rendering.check()] == ["mail/forgotten.html"]


def test_a_missing_variable_fails_the_check(templates_copy: Path) -> None:
    """The mails' environment is strict: a variable no content gives fails the render."""
    broken = templates_copy / "card_blocked.html"
    broken.write_text(broken.read_text().replace("content.blocked_at", "content.blocked_on", 1))
    problems = rendering.check()
    assert [w for w, _p in problems] == [f"mail/card_blocked.html ({lang})" for lang in LANGUAGES]
    assert all("blocked_on" in p for _w, p in problems)
