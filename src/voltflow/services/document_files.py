"""A billing document's files for the mail that carries it (``services.mail.DocumentAttachments``):
its PDF in the mail's language and, for invoices and credit notes, its Peppol UBL e-invoice.

They are made when the mail is sent, from the document as it was issued (its stored snapshot,
which never changes) by renderers that give the same bytes for the same document: a mail sent
again after a crash carries the very same files, and the outbox keeps no copy of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from voltflow.documents.pdf import to_pdf
from voltflow.documents.ubl import to_ubl
from voltflow.domain.billing.documents import Document, DocumentError, DocumentKind
from voltflow.domain.mail import Attachment
from voltflow.store.payments import PaymentRepository

log = logging.getLogger(__name__)

E_INVOICES = (DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE)


def document_files(document: Document, language: str, timezone: str) -> tuple[Attachment, ...]:
    """The document's PDF (in ``language``) and, for an invoice or a credit note, its UBL."""
    name = document.number or "preview"
    files = [
        Attachment(
            f"{name}.pdf", "application/pdf", to_pdf(document, language=language, timezone=timezone)
        )
    ]
    if document.kind in E_INVOICES:
        try:
            files.append(Attachment(f"{name}.xml", "application/xml", to_ubl(document)))
        except DocumentError as exc:
            # The PDF is the document; an e-invoice the rules would refuse is not sent.
            log.warning("%s: no UBL attached (%s)", name, exc)
    return tuple(files)


class BillingDocumentFiles:
    def __init__(self, repo: PaymentRepository, timezone: str) -> None:
        self.repo = repo
        self.timezone = timezone

    async def attachments(self, document_id: int, language: str) -> Sequence[Attachment]:
        found = await self.repo.content(document_id)
        if found is None:
            return ()
        _record, document = found
        # Rendering is a few milliseconds of CPU per page: off the event loop.
        return await asyncio.to_thread(document_files, document, language, self.timezone)
