"""What rendering a billing document as PDF costs, next to ReportLab writing the same text bare.

Two documents: a one-page invoice (three lines, a VAT breakdown, five sessions in its annex) and
an invoice whose annex lists 500 sessions (about ten pages). For each:

* voltflow: ``to_pdf`` in this process, CPU time per document (the median of ``--rounds``);
* reference: the same text (read back from voltflow's own PDF, outside the timing) written line
  by line with ReportLab's canvas, a page every sixty lines: the library's floor for that much
  text, without layout, tables or translation;
* pool: ``--workers`` processes (as a billing run uses them) rendering ``--documents`` copies,
  documents a second by the wall clock, the Document sent to each worker and its bytes back;
  beside it a pool of one worker, so that the speed-up reads on a busy machine too.

    .venv/bin/python bench/pdf_cost.py [--rounds 7] [--workers 2] [--documents 200] [--json FILE]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from voltflow.documents.pdf import plain, to_pdf
from voltflow.domain.billing.documents import (
    AnnexRow,
    Document,
    DocumentKind,
    DocumentLine,
    Party,
)
from voltflow.domain.billing.references import structured_reference

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


def invoice(sessions: int) -> Document:
    started = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    annex = tuple(
        AnnexRow(
            n,
            started + timedelta(minutes=83 * n),
            f"CP-{n % 7:04d}",
            f"04A2BC{n:04d}",
            3000 + 7 * n,
            Decimal("1.35"),
        )
        for n in range(1, sessions + 1)
    )
    energy = Decimal(sum(row.energy_wh for row in annex)) / 1000
    return Document(
        DocumentKind.INVOICE,
        "EUR",
        date(2026, 12, 1),
        date(2026, 12, 31),
        SELLER,
        BUYER,
        (
            DocumentLine.of(
                "Public charging", energy, "KWH", Decimal("0.45"), "EUR", vat_rate=Decimal(21)
            ),
            DocumentLine.of(
                "Card subscription", Decimal(2), "MON", Decimal("4.00"), "EUR", vat_rate=Decimal(21)
            ),
            DocumentLine.of(
                "Station licence", Decimal(1), "MON", Decimal("10.00"), "EUR", vat_rate=Decimal(6)
            ),
        ),
        date(2026, 11, 1),
        date(2026, 11, 30),
        number="INV-2026-000042",
        payment_reference=structured_reference(1234567890),
        annex=annex,
    )


def bare(lines: list[str]) -> bytes:
    """The reference: ``lines`` written one under the other, sixty to a page."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    for start in range(0, len(lines), 60):
        canvas.setFont("Helvetica", 8.5)
        for row, line in enumerate(lines[start : start + 60]):
            canvas.drawString(50, 800 - 12 * row, line)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def cpu_per_call(call: Callable[[], Any], rounds: int, budget: float = 1.0) -> float:
    """The median CPU seconds of one call, over ``rounds`` rounds of about ``budget`` s."""
    began = time.process_time()
    call()
    once = max(time.process_time() - began, 1e-4)
    calls = max(1, int(budget / rounds / once))
    medians = []
    for _ in range(rounds):
        began = time.process_time()
        for _ in range(calls):
            call()
        medians.append((time.process_time() - began) / calls)
    return statistics.median(medians)


def _render(document: Document, language: str) -> int:
    return len(to_pdf(document, language=language))


def pool_rate(document: Document, workers: int, documents: int) -> float:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_render, [document] * workers * 2, ["fr"] * workers * 2))  # warm
        began = time.perf_counter()
        list(pool.map(_render, [document] * documents, ["fr"] * documents, chunksize=4))
        return documents / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    results: list[dict[str, Any]] = []
    for label, sessions in (("one-page invoice", 5), ("500-session annex", 500)):
        document = invoice(sessions)
        pdf = to_pdf(document, language="fr")
        reader = PdfReader(io.BytesIO(pdf))
        lines = [plain(line) for page in reader.pages for line in page.extract_text().splitlines()]
        ours = cpu_per_call(lambda d=document: to_pdf(d, language="fr"), args.rounds)
        reference = cpu_per_call(lambda lines=lines: bare(lines), args.rounds)
        # A long document takes ten times longer: a tenth as many of them.
        documents = (
            args.documents if sessions < 100 else max(args.documents // 10, 4 * args.workers)
        )
        results.append(
            {
                "document": label,
                "pages": len(reader.pages),
                "bytes": len(pdf),
                "ms": ours * 1000,
                "per_second": 1 / ours,
                "reference_ms": reference * 1000,
                "ratio": ours / reference,
                "one_worker_per_second": pool_rate(document, 1, documents),
                "pool_per_second": pool_rate(document, args.workers, documents),
            }
        )

    print(f"load average at start {load:.2f}; {args.workers} workers in the pool\n")
    print(
        "| document | pages | size | CPU per document | documents/s, one process | "
        "bare ReportLab, same text | ratio | documents/s, 1 worker | documents/s, pool |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['document']} | {r['pages']} | {r['bytes'] / 1024:.1f} KiB | {r['ms']:.1f} ms "
            f"| {r['per_second']:.0f} | {r['reference_ms']:.1f} ms | {r['ratio']:.1f}× "
            f"| {r['one_worker_per_second']:.0f} | {r['pool_per_second']:.0f} |"
        )
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"load": load, "workers": args.workers, "results": results}, out, indent=2)


if __name__ == "__main__":
    main()
