"""Billing documents as PDF, read back as their recipient's PDF reader reads them: the text of each
page, its cells in the order they are drawn (one a line)."""

from __future__ import annotations

import io
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from voltflow.documents.pdf import to_pdf
from voltflow.domain.billing.documents import (
    AnnexRow,
    Document,
    DocumentKind,
    DocumentLine,
    Party,
    VatCategory,
)
from voltflow.domain.billing.references import structured_reference

D = Decimal
SELLER = Party(
    "Voltflow Operations NV",
    street="Kunstlaan 1",
    postal_code="1000",
    city="Brussel",
    vat_number="BE0123456749",
    iban="BE68539007547034",
    bic="GKCCBEBB",
)
BUYER = Party(
    "Acme Logistics BV",
    street="Rue de la Loi 16",
    postal_code="1000",
    city="Bruxelles",
    vat_number="BE0403170701",
)
REFERENCE = structured_reference(1234567890)
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def _release_note_request(**changes: object) -> Document:
    """The release note's split billing: 3.667 and 7.334 kWh at €0.6654, no VAT."""
    started = datetime(2026, 11, 3, 18, 0, tzinfo=UTC)
    document = Document(
        DocumentKind.PAYMENT_REQUEST,
        "EUR",
        date(2026, 12, 1),
        date(2026, 12, 15),
        SELLER,
        BUYER,
        tuple(
            DocumentLine.of(
                "Home charging, employee reimbursement",
                D(kwh),
                "KWH",
                D("0.6654"),
                "EUR",
                vat_category=VatCategory.NOT_SUBJECT,
                sessions=[n],
            )
            for n, kwh in ((1, "3.667"), (2, "7.334"))
        ),
        *NOVEMBER,
        number="PR-2026-000001",
        payment_reference=structured_reference(42),
        mandate_reference="VF-MANDATE-0007",
        annex=(
            AnnexRow(1, started, "HOME-0001", "04A2BC11", 3667, D("2.44")),
            AnnexRow(2, started + timedelta(days=2), "HOME-0001", "04A2BC11", 7334, D("4.88")),
        ),
    )
    return replace(document, **changes)  # type: ignore[arg-type]


def _invoice(sessions: int = 0, **changes: object) -> Document:
    started = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    document = Document(
        DocumentKind.INVOICE,
        "EUR",
        date(2026, 12, 1),
        date(2026, 12, 31),
        SELLER,
        BUYER,
        (
            DocumentLine.of(
                "Public charging",
                D("123.456"),
                "KWH",
                D("0.45"),
                "EUR",
                vat_rate=D(21),
                period_start=NOVEMBER[0],
                period_end=NOVEMBER[1],
            ),
            DocumentLine.of("Card subscription", D("0.5"), "MON", D("4.00"), "EUR", vat_rate=D(21)),
            DocumentLine.of("Station licence", D(3), "MON", D("10.00"), "EUR", vat_rate=D(6)),
        ),
        *NOVEMBER,
        number="INV-2026-000042",
        payment_reference=REFERENCE,
        annex=tuple(
            AnnexRow(
                n,
                started + timedelta(minutes=83 * n),
                f"CP-{n % 7:04d}",
                f"CARD-{n:05d}",
                3000 + n,
                D("1.35"),
            )
            for n in range(1, sessions + 1)
        ),
    )
    return replace(document, **changes)  # type: ignore[arg-type]


def _pages(pdf: bytes) -> list[list[str]]:
    """Each page's lines, spaces made plain and single."""
    reader = PdfReader(io.BytesIO(pdf))
    return [
        [" ".join(line.split()) for line in page.extract_text().splitlines() if line.strip()]
        for page in reader.pages
    ]


def _lines(pdf: bytes) -> list[str]:
    return [line for page in _pages(pdf) for line in page]


def _flat(pdf: bytes) -> str:
    """The whole text on one line: sentences read across their line breaks."""
    return " ".join(_lines(pdf))


def _has_row(lines: list[str], *cells: str) -> bool:
    width = len(cells)
    return any(lines[i : i + width] == list(cells) for i in range(len(lines) - width + 1))


def test_the_release_notes_payment_request_is_2_44_and_4_88_making_7_32_without_vat() -> None:
    pdf = to_pdf(_release_note_request(), language="en")
    lines = _lines(pdf)
    assert _has_row(lines, "3.667 kWh", "€0.6654", "€2.44")
    assert _has_row(lines, "7.334 kWh", "€0.6654", "€4.88")
    assert _has_row(lines, "Total", "€7.32")
    assert "No VAT: the employees sell this electricity to their employer as private persons." in (
        _flat(pdf)
    )
    # A payment request is no invoice: no VAT column, breakdown or VAT totals.
    assert not {"VAT", "VAT breakdown", "Total excl. VAT", "Total incl. VAT"} & set(lines)
    assert _has_row(lines, "2026-11-03 19:00", "HOME-0001", "04A2BC11", "3.667 kWh", "€2.44")
    assert _has_row(lines, "2026-11-05 19:00", "HOME-0001", "04A2BC11", "7.334 kWh", "€4.88")
    assert _has_row(lines, "2 sessions", "11.001 kWh", "€7.32")


@pytest.mark.parametrize(
    ("language", "title", "price", "total", "energy", "start", "page"),
    [
        (
            "nl",
            "Betaalverzoek",
            "€ 0,6654",
            "€ 7,32",
            "3,667 kWh",
            "3/11/2026, 19:00",
            "Pagina 1 van 1",
        ),
        (
            "fr",
            "Demande de paiement",
            "€ 0,6654",
            "€ 7,32",
            "3,667 kWh",
            "3/11/26 19:00",
            "Page 1 sur 1",
        ),
        (
            "en",
            "Payment request",
            "€0.6654",
            "€7.32",
            "3.667 kWh",
            "2026-11-03 19:00",
            "Page 1 of 1",
        ),
    ],
)
def test_each_language_writes_its_words_amounts_energy_and_times(
    language: str, title: str, price: str, total: str, energy: str, start: str, page: str
) -> None:
    lines = _lines(to_pdf(_release_note_request(), language=language))
    assert title in lines
    assert _has_row(lines, energy, price)
    assert _has_row(lines, start, "HOME-0001", "04A2BC11", energy)
    assert total in lines
    assert page in lines


@pytest.mark.parametrize(
    ("kind", "titles"),
    [
        (DocumentKind.INVOICE, ("Factuur", "Facture", "Invoice")),
        (DocumentKind.CREDIT_NOTE, ("Creditnota", "Note de crédit", "Credit note")),
        (
            DocumentKind.SELF_BILLING,
            ("Afrekening (autofacturatie)", "Relevé d'autofacturation", "Self-billing statement"),
        ),
    ],
)
def test_every_kind_is_titled_in_every_language(
    kind: DocumentKind, titles: tuple[str, str, str]
) -> None:
    document = _invoice(kind=kind, corrects="INV-2026-000001")
    for language, title in zip(("nl", "fr", "en"), titles, strict=True):
        assert title in _lines(to_pdf(document, language=language))


def test_a_reimbursement_statement_bears_no_vat_and_says_why() -> None:
    statement = _release_note_request(
        kind=DocumentKind.REIMBURSEMENT_STATEMENT, mandate_reference=None
    )
    pdf = to_pdf(statement, language="nl")
    lines = _lines(pdf)
    assert "Afrekening terugbetaling" in lines
    assert "Geen btw: u verkoopt deze elektriciteit als privépersoon aan uw werkgever." in _flat(
        pdf
    )
    assert "Btw-overzicht" not in lines
    # The reader is paid, into the seller's account.
    assert "€ 7,32 wordt uiterlijk op 15 dec 2026 overgeschreven naar BE68 5390 0754 7034." in (
        _flat(pdf)
    )


def test_an_invoice_shows_its_number_lines_vat_breakdown_totals_and_reference() -> None:
    pdf = to_pdf(_invoice(), language="en")
    lines = _lines(pdf)
    assert "INV-2026-000042" in lines
    assert _has_row(lines, "Acme Logistics BV", "Rue de la Loi 16", "1000 Bruxelles")
    assert "VAT number: BE0403170701" in lines
    assert _has_row(lines, "Issue date", "2026-12-01", "Due date", "2026-12-31")
    assert _has_row(lines, "Period", "2026-11-01 – 2026-11-30", "Structured reference", REFERENCE)
    assert _has_row(lines, "Description", "Quantity", "Unit price", "VAT", "Excl. VAT")
    assert _has_row(lines, "123.456 kWh", "€0.45", "21%", "€55.56")
    assert _has_row(lines, "Card subscription", "0.5 month", "€4.00", "21%", "€2.00")
    assert _has_row(lines, "Station licence", "3 months", "€10.00", "6%", "€30.00")
    # One subtotal per rate, its VAT computed once on the sum of its lines.
    assert _has_row(lines, "Standard rate", "6%", "€30.00", "€1.80")
    assert _has_row(lines, "Standard rate", "21%", "€57.56", "€12.09")
    assert _has_row(lines, "Total excl. VAT", "€87.56", "VAT", "€13.89")
    assert _has_row(lines, "Total incl. VAT", "€101.45")
    assert (
        "Please transfer €101.45 to BE68 5390 0754 7034 by 2026-12-31 with the structured "
        f"reference {REFERENCE}."
    ) in _flat(pdf)
    assert "BIC GKCCBEBB" in lines


def test_categories_without_a_rate_are_named() -> None:
    invoice = _invoice(
        lines=(
            DocumentLine.of(
                "Roaming fee",
                D(1),
                "C62",
                D("50.00"),
                "EUR",
                vat_category=VatCategory.REVERSE_CHARGE,
            ),
        ),
        buyer=replace(BUYER, country="NL", vat_number="NL123456789B01"),
    )
    lines = _lines(to_pdf(invoice, language="fr"))
    assert _has_row(lines, "Roaming fee", "1", "€ 50,00", "autoliquidation", "€ 50,00")
    assert _has_row(lines, "Autoliquidation", "0 %", "€ 50,00", "€ 0,00")
    # Parties of two countries: each address says its country.
    assert _has_row(lines, "Pays-Bas", "Numéro de TVA : NL123456789B01")
    assert _has_row(lines, "Belgique", "Numéro de TVA : BE0123456749")


def test_a_direct_debit_names_its_mandate() -> None:
    flat = _flat(to_pdf(_release_note_request(), language="en"))
    assert (
        "€7.32 will be collected by SEPA direct debit under mandate VF-MANDATE-0007 "
        "on or after 2026-12-15."
    ) in flat
    assert "Please transfer" not in flat


def test_a_credit_note_names_the_invoice_it_corrects() -> None:
    note = _invoice(kind=DocumentKind.CREDIT_NOTE, number="CN-2026-000003", corrects="INV-2026-9")
    pdf = to_pdf(note, language="fr")
    lines = _lines(pdf)
    assert _has_row(lines, "Corrige la facture", "INV-2026-9")
    assert "Rien n'est à payer sur une note de crédit : € 101,45 est en votre faveur." in _flat(pdf)
    assert "Récapitulatif de la TVA" in lines


def test_a_self_billing_statement_says_for_whom_it_is_issued() -> None:
    host = Party("Jan Peeters", iban="BE71096123456769", language="nl")
    statement = _invoice(kind=DocumentKind.SELF_BILLING, seller=host, buyer=SELLER)
    flat = _flat(to_pdf(statement, language="nl"))
    assert (
        "Autofacturatie: uitgereikt door Voltflow Operations NV in naam en voor rekening van "
        "Jan Peeters."
    ) in flat
    assert (
        "€ 101,45 wordt uiterlijk op 31 dec 2026 overgeschreven naar BE71 0961 2345 6769." in flat
    )


def test_a_long_annex_runs_over_pages_with_its_header_on_each() -> None:
    pdf = to_pdf(_invoice(sessions=500), language="en")
    pages = _pages(pdf)
    count = len(pages)
    assert count > 2
    header = ["Start", "Station", "Card", "Energy", "Excl. VAT"]
    cards: list[str] = []
    rows_per_page = []
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {count}" in page
        assert _has_row(page, *header)
        on_page = [line for line in page if line.startswith("CARD-")]
        rows_per_page.append(len(on_page))
        cards += on_page
    # Every session once, in order; full pages hold the same number of rows, and many.
    assert cards == [f"CARD-{n:05d}" for n in range(1, 501)]
    assert len(set(rows_per_page[1:-1])) == 1 and rows_per_page[1] >= 40
    assert _has_row(pages[-1], "500 sessions", "1,625.250 kWh", "€675.00")


def test_a_preview_has_no_number_and_says_so_on_every_page() -> None:
    pdf = to_pdf(_invoice(sessions=120, number=None), language="fr")
    pages = _pages(pdf)
    assert len(pages) > 1
    for page in pages:
        assert "APERÇU" in page
        assert "Voltflow Operations NV · Facture Aperçu" in page
    assert "Aperçu" in pages[0]
    assert "INV-" not in _flat(pdf)
    # A transfer without a number or reference to mention.
    preview = _invoice(number=None, payment_reference=None)
    assert "Please transfer €101.45 to BE68 5390 0754 7034 by 2026-12-31." in (
        _flat(to_pdf(preview, language="en"))
    )


def test_the_euro_sign_and_accents_come_back_as_written() -> None:
    line = DocumentLine.of(
        "Recharge à domicile – été, Brüssel, façade, Noël, ½ € & <co>",
        D("1234.5"),
        "C62",
        D(1),
        "EUR",
        vat_category=VatCategory.NOT_SUBJECT,
    )
    request = _release_note_request(
        lines=(line,), buyer=replace(BUYER, name="Łódź Société & <Co>"), annex=()
    )
    pdf = to_pdf(request, language="fr")
    lines = _lines(pdf)
    assert "Recharge à domicile – été, Brüssel, façade, Noël, ½ € & <co>" in lines
    # French groups thousands with a narrow space, which the fonts write as a no-break one.
    assert "€ 1 234,50" in lines
    # A letter the standard fonts lack is written without its accent, not as a black box.
    assert "Lódz Société & <Co>" in lines
    assert "■" not in _flat(pdf)


def test_times_are_local_to_the_time_zone_given() -> None:
    lines = _lines(to_pdf(_release_note_request(), language="en", timezone="UTC"))
    assert _has_row(lines, "2026-11-03 18:00", "HOME-0001")


def test_an_unknown_language_is_english() -> None:
    assert to_pdf(_invoice(), language="de") == to_pdf(_invoice(), language="en")


def test_the_same_document_is_the_same_bytes() -> None:
    first = to_pdf(_invoice(sessions=60), language="nl")
    assert first == to_pdf(_invoice(sessions=60), language="nl")
    assert first != to_pdf(_invoice(sessions=60), language="fr")


def test_documents_render_alike_in_threads_and_in_a_pool_of_processes() -> None:
    """A billing run renders in workers: nothing of one rendering reaches another, and a worker
    process (started afresh, as ``spawn`` does) writes the bytes this one does."""
    jobs = [(_invoice(sessions=30), lang) for lang in ("nl", "fr", "en")] * 2
    expected = [to_pdf(document, language=lang) for document, lang in jobs]
    with ThreadPoolExecutor(max_workers=3) as threads:
        assert list(threads.map(lambda job: to_pdf(job[0], language=job[1]), jobs)) == expected
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as processes:
        futures = [processes.submit(to_pdf, document, language=lang) for document, lang in jobs]
        assert [future.result() for future in futures] == expected
