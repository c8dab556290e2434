"""The mail outbox, for operators: what the platform mailed or will mail, to whom, in which
language, and each message as its recipient reads it. Without an SMTP server (a demo) this is
where the mails can be read at all."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from voltflow.domain.mail import MailKind, MailStatus
from voltflow.domain.paging import PageRequest
from voltflow.i18n import NAMES, _, pgettext
from voltflow.services.mail import MailNotFound
from voltflow.web.auth import ConsoleUser, PlatformDep
from voltflow.web.console.common import PAGE, render

router = APIRouter(include_in_schema=False)

KINDS: dict[str, Callable[[], str]] = {
    MailKind.INVITATION: lambda: pgettext("mail", "Invitation"),
    MailKind.CARD_BLOCKED: lambda: pgettext("mail", "Card blocked"),
    MailKind.PAYMENT_REQUEST: lambda: pgettext("mail", "Payment request"),
}
STATUSES: dict[str, Callable[[], str]] = {
    MailStatus.PENDING: lambda: pgettext("mail", "pending"),
    MailStatus.SENT: lambda: pgettext("mail", "sent"),
    MailStatus.FAILED: lambda: pgettext("mail", "failed"),
}
# The mail as its own document, framed by the console's page: it may style itself (inline, as
# mails do) and nothing else: no script, no request anywhere, no form.
PREVIEW_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; "
    "form-action 'none'; base-uri 'none'"
)


def _labels() -> dict[str, object]:
    return {
        "kind_of": lambda kind: KINDS[kind]() if kind in KINDS else kind,
        "status_of": lambda status: STATUSES[status]() if status in STATUSES else status,
        "language_of": lambda code: NAMES.get(code, code),
    }


@router.get("/mail")
async def mail_page(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    status: str | None = None,
    offset: int = 0,
) -> HTMLResponse:
    chosen = MailStatus(status) if status in {s.value for s in MailStatus} else None
    offset = max(offset, 0)
    page = await platform.mail.page(user, PageRequest(offset, PAGE), chosen)
    return render(
        request,
        "mail.html",
        {
            "user": user,
            "page": page,
            "statuses": {s.value: STATUSES[s]() for s in MailStatus},
            "filters": {"status": chosen.value if chosen else ""},
            "sending": platform.mail.sending,
            "offset": offset,
            "limit": PAGE,
            **_labels(),
        },
    )


@router.get("/mail/{mail_id}")
async def mail_message_page(
    request: Request, mail_id: int, platform: PlatformDep, user: ConsoleUser
) -> HTMLResponse:
    try:
        mail = await platform.mail.get(user, mail_id)
    except MailNotFound:
        what = _("mail %(id)s") % {"id": mail_id}
        return render(request, "not_found.html", {"user": user, "what": what}, 404)
    return render(
        request,
        "mail_message.html",
        {"user": user, "mail": mail, "sending": platform.mail.sending, **_labels()},
    )


@router.get("/mail/{mail_id}/html")
async def mail_html(
    request: Request, mail_id: int, platform: PlatformDep, user: ConsoleUser
) -> Response:
    """The HTML alternative alone, for the preview's frame."""
    try:
        mail = await platform.mail.get(user, mail_id)
    except MailNotFound:
        return Response(status_code=404)
    return HTMLResponse(
        mail.html,
        headers={"Content-Security-Policy": PREVIEW_POLICY, "Cache-Control": "no-store"},
    )
