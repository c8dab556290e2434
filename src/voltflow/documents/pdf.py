"""Billing documents as PDF: what the recipient files, checks and pays from, in their language.

``to_pdf`` is a function of its arguments alone: the same document, language and time zone give
the same bytes (ReportLab's invariant mode fixes the dates and the file identifier it would
otherwise take from the clock), and nothing is registered with ReportLab or kept between calls
but caches of what never changes, so a billing run may render in a pool of processes and a
document rendered again is the one that was sent.

The fonts are PDF's standard ones: nothing to embed, and their WinAnsi encoding carries the euro
sign and every accent of Dutch and French. A character it lacks (a name from further away) is
written as its nearest letter without the accent rather than as ReportLab's black box.

Numbers, amounts, energy and dates are written by :mod:`voltflow.i18n.formats`, as the pages
and the mails write them; every word comes from the platform's catalogs.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from voltflow.domain.billing.documents import (
    Document,
    DocumentKind,
    DocumentLine,
    Party,
    VatCategory,
)
from voltflow.i18n import SOURCE, _, formats, ngettext, pgettext, supported, use

REGULAR = "Helvetica"
BOLD = "Helvetica-Bold"
MARGIN = 18 * mm
# What a frame leaves between its paddings.
WIDTH = A4[0] - 2 * MARGIN - 12
GREY = colors.Color(0.4, 0.4, 0.4)
SHADE = colors.Color(0.94, 0.94, 0.94)
# The language tag the PDF declares, for screen readers and search.
TAGS = {"nl": "nl-BE", "fr": "fr-BE", "en": "en-GB"}

# Kinds that may bear VAT show its breakdown; the others are outside its scope and say why.
WITH_VAT = frozenset({DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE, DocumentKind.SELF_BILLING})
# Kinds whose reader is paid (the seller: a host, an employee) rather than asked to pay.
PAYOUTS = frozenset({DocumentKind.SELF_BILLING, DocumentKind.REIMBURSEMENT_STATEMENT})

_TITLES: dict[DocumentKind, Callable[[], str]] = {
    DocumentKind.INVOICE: lambda: pgettext("document kind", "Invoice"),
    DocumentKind.CREDIT_NOTE: lambda: pgettext("document kind", "Credit note"),
    DocumentKind.PAYMENT_REQUEST: lambda: pgettext("document kind", "Payment request"),
    DocumentKind.SELF_BILLING: lambda: pgettext("document kind", "Self-billing statement"),
    DocumentKind.REIMBURSEMENT_STATEMENT: lambda: pgettext(
        "document kind", "Reimbursement statement"
    ),
}
_NO_VAT: dict[DocumentKind, Callable[[], str]] = {
    DocumentKind.PAYMENT_REQUEST: lambda: _(
        "No VAT: the employees sell this electricity to their employer as private persons."
    ),
    DocumentKind.REIMBURSEMENT_STATEMENT: lambda: _(
        "No VAT: you sell this electricity to your employer as a private person."
    ),
}
# The VAT column of a line: a rate where there is one, else what the category means.
_CATEGORY_SHORT: dict[VatCategory, Callable[[], str]] = {
    VatCategory.EXEMPT: lambda: pgettext("VAT category, short", "exempt"),
    VatCategory.REVERSE_CHARGE: lambda: pgettext("VAT category, short", "reverse charge"),
    VatCategory.NOT_SUBJECT: lambda: pgettext("VAT category, short", "no VAT"),
}
_CATEGORIES: dict[VatCategory, Callable[[], str]] = {
    VatCategory.STANDARD: lambda: pgettext("VAT category", "Standard rate"),
    VatCategory.ZERO: lambda: pgettext("VAT category", "Zero rate"),
    VatCategory.EXEMPT: lambda: pgettext("VAT category", "Exempt from VAT"),
    VatCategory.REVERSE_CHARGE: lambda: pgettext("VAT category", "Reverse charge"),
    VatCategory.NOT_SUBJECT: lambda: pgettext("VAT category", "Not subject to VAT"),
}
# UN/ECE recommendation 20 codes, as people read them; "one" (C62) is a bare count.
_UNITS: dict[str, Callable[[int], str]] = {
    "MON": lambda n: ngettext("month", "months", n),
    "DAY": lambda n: ngettext("day", "days", n),
    "HUR": lambda n: ngettext("hour", "hours", n),
}

_BODY = ParagraphStyle("body", fontName=REGULAR, fontSize=9, leading=12)
_SMALL = ParagraphStyle("small", fontName=REGULAR, fontSize=8, leading=10, textColor=GREY)
_CELL = ParagraphStyle("cell", fontName=REGULAR, fontSize=8.5, leading=10.5)
_HEADING = ParagraphStyle(
    "heading", fontName=BOLD, fontSize=10.5, leading=14, spaceBefore=8, spaceAfter=4
)
_TITLE = ParagraphStyle(
    "title", fontName=BOLD, fontSize=18, leading=22, alignment=TA_RIGHT, spaceAfter=2
)
_NUMBER = ParagraphStyle("number", fontName=BOLD, fontSize=11, leading=14, alignment=TA_RIGHT)
_PREVIEW = ParagraphStyle(
    "preview", fontName=BOLD, fontSize=11, leading=14, alignment=TA_RIGHT, textColor=GREY
)

# Spaces WinAnsi lacks, as the no-break space it has (French groups digits with a narrow one).
_SPACES = str.maketrans({"\u202f": "\xa0", "\u2007": "\xa0", "\u2009": " ", "\u200b": ""})
# Letters that Unicode's decomposition does not take apart into a base letter and an accent.
_BASES = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Ŀ": "L", "ŀ": "l"}


def _winansi(char: str) -> str:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        pass
    else:
        return char
    base = _BASES.get(char)
    if base is None:
        decomposed = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
    try:
        base.encode("cp1252")
    except UnicodeEncodeError:
        return "?"
    return base or "?"


def plain(text: str) -> str:
    """``text`` as the standard fonts can write it."""
    if text.isascii():
        return text
    text = text.translate(_SPACES)
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return "".join(c if c.isascii() else _winansi(c) for c in text)
    return text


def _markup(text: str) -> str:
    """``text`` for a paragraph, whose text is markup."""
    return (
        plain(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", "<br/>")
    )


def _para(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(_markup(text), style)


def _fit(text: str, width: float, size: float) -> str:
    """``text`` cut with an ellipsis to ``width`` points: an annex cell stays one line."""
    text = plain(text)
    if stringWidth(text, REGULAR, size) <= width:
        return text
    while text and stringWidth(text + "…", REGULAR, size) > width:
        text = text[:-1]
    return text + "…"


def _percent(rate: Decimal) -> str:
    pattern = str(formats.locale().percent_formats[None].pattern)
    return plain(pattern.replace("#,##0", formats.number(rate)))


def _unbroken(text: str) -> str:
    return text.replace(" ", "\xa0")


def _iban(iban: str) -> str:
    compact = iban.replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _quantity(line: DocumentLine) -> str:
    if line.unit_code == "KWH":
        return plain(f"{formats.number(line.quantity, 3)} kWh")
    figure = formats.number(line.quantity)
    unit = _UNITS.get(line.unit_code)
    if unit is not None:
        # Up to one, the singular ("0,5 maand", "0.5 month"); above, the plural.
        count = 1 if line.quantity <= 1 else max(int(line.quantity), 2)
        return plain(f"{figure} {unit(count)}")
    return plain(figure if line.unit_code == "C62" else f"{figure} {line.unit_code}")


def _vat_cell(line: DocumentLine) -> str:
    short = _CATEGORY_SHORT.get(line.vat_category)
    return short() if short is not None else _percent(line.vat_rate)


class _Page:
    """What every page shows around the flowing content: the footer and, on a preview, the
    watermark. Drawn as the page begins, so that the content covers the watermark."""

    def __init__(self, footer: str, watermark: str | None) -> None:
        self.footer = plain(footer)
        self.watermark = plain(watermark) if watermark else None

    def __call__(self, canvas: Any, _template: Any) -> None:
        if self.watermark:
            canvas.saveState()
            canvas.setFillColor(colors.Color(0.88, 0.88, 0.88))
            canvas.setFont(BOLD, 96)
            canvas.translate(A4[0] / 2, A4[1] / 2)
            canvas.rotate(45)
            canvas.drawCentredString(0, -32, self.watermark)
            canvas.restoreState()
        canvas.saveState()
        canvas.setFillColor(GREY)
        canvas.setFont(REGULAR, 7.5)
        canvas.drawString(MARGIN, 10 * mm, self.footer)
        canvas.restoreState()


class _NumberedCanvas(Canvas):  # type: ignore[misc]
    """A canvas that holds its pages until the end, when it knows how many there are, to
    write "page 1 of N" on each."""

    def __init__(self, *args: Any, page_of: Callable[[int, int], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: list[dict[str, Any]] = []
        self._page_of = page_of

    def showPage(self) -> None:
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held)
        for number, state in enumerate(self._held, start=1):
            self.__dict__.update(state)
            self.saveState()
            self.setFillColor(GREY)
            self.setFont(REGULAR, 7.5)
            self.drawRightString(A4[0] - MARGIN, 10 * mm, plain(self._page_of(number, total)))
            self.restoreState()
            super().showPage()
        super().save()


def _page_of(page: int, pages: int, *, lang: str) -> str:
    with use(lang):
        return _("Page %(page)s of %(pages)s") % {"page": page, "pages": pages}


def _address(party: Party, *, country: bool) -> list[str]:
    lines = [party.street or "", " ".join(p for p in (party.postal_code, party.city) if p)]
    if country:
        lines.append(str(formats.locale().territories.get(party.country, party.country)))
    if party.vat_number:
        lines.append(_("VAT number: %(number)s") % {"number": party.vat_number})
    return [line for line in lines if line]


def _party(label: str, party: Party, *, country: bool) -> list[Flowable]:
    block = "<br/>".join(
        [
            f"<b>{_markup(party.name)}</b>",
            *(_markup(line) for line in _address(party, country=country)),
        ]
    )
    return [_para(label, _SMALL), Paragraph(block, _BODY)]


def _cell(text: str, width: float, style: ParagraphStyle = _CELL) -> str | Paragraph:
    """``text`` as a table cell: a string where it fits on one line (a table draws those
    without laying out a paragraph), a paragraph that wraps where it does not."""
    written = plain(text)
    if stringWidth(written, style.fontName, style.fontSize) <= width:
        return written
    return _para(text, style)


def _facts(rows: Sequence[tuple[str, str]], width: float) -> Table:
    widths = [width * 0.45, width * 0.55]
    table = Table(
        [
            [_cell(label, widths[0] - 6, _SMALL), _cell(value, widths[1] - 6)]
            for label, value in rows
        ],
        colWidths=widths,
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (0, -1), REGULAR, _SMALL.fontSize, _SMALL.leading),
                ("TEXTCOLOR", (0, 0), (0, -1), GREY),
                ("FONT", (1, 0), (1, -1), REGULAR, _CELL.fontSize, _CELL.leading),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


def _grid(
    rows: list[list[Any]],
    widths: Sequence[float],
    *,
    numeric_from: int,
    total_rows: int = 0,
    shaded: bool = False,
    row_height: float | None = None,
) -> Table:
    """A table whose header repeats on every page it runs to, figures to the right, and the
    last ``total_rows`` rows set apart as totals."""
    table = Table(
        rows,
        colWidths=list(widths),
        repeatRows=1,
        hAlign="LEFT",
        rowHeights=None if row_height is None else [row_height] * len(rows),
    )
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), REGULAR, 8.5),
        ("FONT", (0, 0), (-1, 0), BOLD, 8.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if shaded and len(rows) > 2:
        style.append(("ROWBACKGROUNDS", (0, 1), (-1, -1 - total_rows), [None, SHADE]))
    if total_rows:
        style.append(("LINEABOVE", (0, -total_rows), (-1, -total_rows), 0.6, colors.black))
        style.append(("FONT", (0, -total_rows), (-1, -1), BOLD, 8.5))
    table.setStyle(TableStyle(style))
    return table


def _header(document: Document, local: Callable[..., str]) -> list[Flowable]:
    foreign = document.seller.country != document.buyer.country
    seller = _party(_("From"), document.seller, country=foreign)
    if document.seller.email:
        seller.append(_para(document.seller.email, _SMALL))
    title: list[Flowable] = [_para(_TITLES[document.kind](), _TITLE)]
    if document.number is None:
        title.append(_para(pgettext("document", "Preview"), _PREVIEW))
    else:
        title.append(_para(document.number, _NUMBER))
    top = Table([[seller, title]], colWidths=[WIDTH * 0.5, WIDTH * 0.5])
    top.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    facts = [
        (_("Issue date"), local(document.issue_date, "date")),
        (_("Due date"), local(document.due_date, "date")),
        (_("Period"), _span(local, document.period_start, document.period_end)),
    ]
    if document.corrects:
        facts.append((_("Corrects invoice"), document.corrects))
    if document.payment_reference:
        facts.append((_("Structured reference"), document.payment_reference))
    if document.mandate_reference:
        facts.append((_("Mandate reference"), document.mandate_reference))
    middle = Table(
        [
            [
                _facts(facts, WIDTH * 0.55 - 6),
                _party(_("To"), document.buyer, country=foreign),
            ]
        ],
        colWidths=[WIDTH * 0.55, WIDTH * 0.45],
    )
    middle.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    out: list[Flowable] = [top, Spacer(0, 10 * mm), middle, Spacer(0, 8 * mm)]
    if document.kind is DocumentKind.SELF_BILLING:
        out.append(
            _para(
                _("Self-billing: issued by %(buyer)s in the name and on behalf of %(seller)s.")
                % {"buyer": document.buyer.name, "seller": document.seller.name}
            )
        )
        out.append(Spacer(0, 3 * mm))
    return out


def _span(local: Callable[..., str], start: date, end: date) -> str:
    return f"{local(start, 'date')} – {local(end, 'date')}"


def _lines(document: Document, local: Callable[..., str]) -> Table:
    currency = document.currency
    vat = document.kind in WITH_VAT
    figures = [24 * mm, 24 * mm, *([22 * mm] if vat else []), 24 * mm]
    header = [
        _("Description"),
        _("Quantity"),
        _("Unit price"),
        *([_("VAT")] if vat else []),
        _("Excl. VAT") if vat else _("Amount"),
    ]
    rows: list[list[Any]] = [header]
    room = WIDTH - sum(figures) - 12
    for line in document.lines:
        description: str | Paragraph
        if line.period_start and line.period_end:
            period = _markup(_span(local, line.period_start, line.period_end))
            description = Paragraph(
                f'{_markup(line.description)}<br/><font size="7.5" color="#666666">{period}</font>',
                _CELL,
            )
        else:
            description = _cell(line.description, room)
        rows.append(
            [
                description,
                _quantity(line),
                plain(formats.money(line.unit_price, currency)),
                *([_vat_cell(line)] if vat else []),
                plain(formats.money(line.net, currency)),
            ]
        )
    return _grid(rows, [WIDTH - sum(figures), *figures], numeric_from=1)


def _breakdown(document: Document) -> Table:
    currency = document.currency
    rows: list[list[Any]] = [
        [_("VAT category"), pgettext("VAT", "Rate"), _("Taxable amount"), _("VAT")]
    ]
    for subtotal in document.vat_breakdown:
        rows.append(
            [
                _CATEGORIES[subtotal.category](),
                _percent(subtotal.rate),
                plain(formats.money(subtotal.taxable, currency)),
                plain(formats.money(subtotal.tax, currency)),
            ]
        )
    figures = [22 * mm, 36 * mm, 24 * mm]
    return _grid(rows, [WIDTH - sum(figures), *figures], numeric_from=1)


def _totals(document: Document) -> list[Flowable]:
    currency = document.currency
    if document.kind in WITH_VAT:
        rows = [
            [_("Total excl. VAT"), formats.money(document.total_excl_vat.amount, currency)],
            [_("VAT"), formats.money(document.total_vat.amount, currency)],
            [_("Total incl. VAT"), formats.money(document.total_incl_vat.amount, currency)],
        ]
    else:
        rows = [[_("Total"), formats.money(document.total_incl_vat.amount, currency)]]
    if document.prepaid_amount:
        rows += [
            [_("Paid from your prepaid credit"), formats.money(-document.prepaid_amount, currency)],
            [_("To pay"), formats.money(document.payable.amount, currency)],
        ]
    table = Table(
        [[plain(label), plain(value)] for label, value in rows],
        colWidths=[52 * mm, 30 * mm],
        hAlign="RIGHT",
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), REGULAR, 9),
                ("FONT", (0, -1), (-1, -1), BOLD, 10),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
                ("RIGHTPADDING", (-1, 0), (-1, -1), 6),
            ]
        )
    )
    out: list[Flowable] = [table]
    no_vat = _NO_VAT.get(document.kind)
    if no_vat is not None:
        out += [Spacer(0, 2 * mm), _para(no_vat())]
    return out


def _payment(document: Document, local: Callable[..., str]) -> list[Flowable]:
    total = document.payable.amount
    # Each value kept on one line: a line break inside an amount, a date or an IBAN misleads.
    values = {
        "amount": _unbroken(formats.money(total, document.currency)),
        "due": _unbroken(local(document.due_date, "date")),
        "mandate": document.mandate_reference or "",
        "reference": document.payment_reference or "",
        "number": document.number or "",
        "iban": _unbroken(_iban(document.seller.iban or "")),
    }
    if document.kind is DocumentKind.CREDIT_NOTE:
        sentence = _("Nothing is to be paid on a credit note: %(amount)s is in your favour.")
    elif total <= 0:
        sentence = _("Nothing is to be paid on this document.")
    elif document.kind in PAYOUTS:
        if document.seller.iban:
            sentence = _("%(amount)s will be transferred to %(iban)s by %(due)s.")
        else:
            sentence = _("%(amount)s will be paid to you by %(due)s.")
    elif document.mandate_reference:
        sentence = _(
            "%(amount)s will be collected by SEPA direct debit under mandate %(mandate)s "
            "on or after %(due)s."
        )
    elif not document.seller.iban:
        sentence = _("Please pay %(amount)s by %(due)s.")
    elif document.payment_reference:
        sentence = _(
            "Please transfer %(amount)s to %(iban)s by %(due)s with the structured reference "
            "%(reference)s."
        )
    elif document.number:
        sentence = _("Please transfer %(amount)s to %(iban)s by %(due)s, mentioning %(number)s.")
    else:
        sentence = _("Please transfer %(amount)s to %(iban)s by %(due)s.")
    out: list[Flowable] = [_para(_("Payment"), _HEADING), _para(sentence % values)]
    if document.seller.bic and document.seller.iban and "%(iban)s" in sentence:
        out.append(_para(f"BIC {document.seller.bic}", _SMALL))
    return out


def _annex(document: Document, local: Callable[..., str]) -> list[Flowable]:
    currency = document.currency
    size = 8.5
    widths = [34 * mm, 0.0, 40 * mm, 25 * mm, 25 * mm]
    widths[1] = WIDTH - sum(widths)
    room = [w - 12 for w in widths]  # the cells' padding
    amount_header = _("Excl. VAT") if document.kind in WITH_VAT else _("Amount")
    rows: list[list[str]] = [
        [_("Start"), _("Station"), _("Card"), _("Energy"), amount_header],
    ]
    energy = 0
    amount = Decimal(0)
    money = formats.money
    kwh = formats.kwh
    for row in document.annex:
        energy += row.energy_wh
        amount += row.amount
        rows.append(
            [
                plain(local(row.started_at, "short")),
                _fit(row.station, room[1], size),
                _fit(row.card, room[2], size),
                plain(kwh(row.energy_wh)),
                plain(money(row.amount, currency)),
            ]
        )
    count = len(document.annex)
    rows.append(
        [
            ngettext("%(n)s session", "%(n)s sessions", count) % {"n": count},
            "",
            "",
            plain(kwh(energy)),
            plain(money(amount, currency)),
        ]
    )
    return [
        CondPageBreak(40 * mm),
        _para(_("Annex: charging sessions"), _HEADING),
        _grid(rows, widths, numeric_from=3, total_rows=1, shaded=True, row_height=13),
    ]


def _story(document: Document, local: Callable[..., str]) -> list[Flowable]:
    story = _header(document, local)
    story += [_lines(document, local), Spacer(0, 4 * mm)]
    if document.kind in WITH_VAT:
        story += [KeepTogether([_para(_("VAT breakdown"), _HEADING), _breakdown(document)])]
        story.append(Spacer(0, 4 * mm))
    story += [KeepTogether(_totals(document))]
    story += [KeepTogether(_payment(document, local))]
    if document.note:
        story += [Spacer(0, 3 * mm), _para(document.note)]
    if document.annex:
        story += [Spacer(0, 6 * mm), *_annex(document, local)]
    return story


def to_pdf(document: Document, *, language: str, timezone: str = "Europe/Brussels") -> bytes:
    """``document`` as a PDF in ``language`` (nl, fr, en; another: English), its sessions'
    times in ``timezone``."""
    lang = supported(language) or SOURCE
    buffer = io.BytesIO()
    with use(lang):
        local = formats.moments(timezone, lang)
        title = _TITLES[document.kind]()
        name = document.number or pgettext("document", "Preview")
        page = _Page(
            f"{document.seller.name} · {title} {name}",
            pgettext("document", "Preview").upper() if document.number is None else None,
        )
        template = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN,
            title=plain(f"{title} {name}"),
            author=plain(document.seller.name),
            subject=plain(document.buyer.name),
            creator="Voltflow",
            lang=TAGS[lang],
            invariant=1,
        )
        template.build(
            _story(document, local),
            onFirstPage=page,
            onLaterPages=page,
            canvasmaker=partial(_NumberedCanvas, page_of=partial(_page_of, lang=lang)),
        )
    return buffer.getvalue()
