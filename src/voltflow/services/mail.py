"""Mail: queued with the change that causes it, sent after that change commits.

A use case calls ``MailService.queue`` inside its unit of work: the mail is rendered there, in
the recipient's language, and written to the mail outbox in the same transaction, so a change
that rolls back mails nobody and one that commits mails its people even if the process dies
right after. ``MailSender`` sends what the outbox holds once the unit commits (woken by it), and
again every ``poll`` seconds for what is due later.

Delivery is at least once, never silently lost: each attempt is claimed first (counted, and the
mail's next attempt moved ahead by the backoff), then the mail is handed to the server, then it
is marked sent. A sender that dies between the server taking the mail and the mark sends it
again later, with the same Message-ID (made and stored when the mail was queued), by which a
receiver can drop the repeat. A server that cannot be reached, or answers 4xx, leaves the mail
pending and tried again after 30 s, 1 min, 2 min, … up to an hour between attempts; a 5xx
refusal of the recipient marks it failed for good. Without an SMTP server configured no sender
runs: the mails wait in the outbox, and operators read them in the console's Mail page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Protocol

from voltflow import failpoints
from voltflow.domain.access import Actor, Permission
from voltflow.domain.mail import (
    Attachment,
    MailContent,
    MailStatus,
    OutgoingMail,
    QueuedMail,
    QueuedMailDetail,
    Recipient,
)
from voltflow.domain.paging import Page, PageRequest
from voltflow.i18n import language, supported
from voltflow.mail.render import render
from voltflow.services.access import Forbidden
from voltflow.services.ports import Clock, Mailer, MailNotSent, MailRefused, UnitOfWork
from voltflow.store.mail import MailOutboxRepository
from voltflow.store.organisations import OrganisationRepository
from voltflow.store.users import UserRepository

log = logging.getLogger(__name__)


class MailNotFound(LookupError):
    pass


def sender_domain(sender: str | None) -> str:
    """The domain of the platform's address (``Voltflow <noreply@charge.example>``): where its
    Message-IDs come from."""
    if sender and "@" in sender:
        return sender.rsplit("@", 1)[1].strip(" >") or "voltflow.invalid"
    return "voltflow.invalid"


class MailService:
    def __init__(
        self,
        outbox: MailOutboxRepository,
        users: UserRepository,
        organisations: OrganisationRepository,
        clock: Clock,
        *,
        uow: UnitOfWork,
        timezone: str = "Europe/Brussels",
        sender: str | None = None,
        sending: bool = False,
    ) -> None:
        self.uow = uow
        self.outbox = outbox
        self.users = users
        self.organisations = organisations
        self.clock = clock
        self.timezone = timezone
        self.domain = sender_domain(sender)
        # Whether an SMTP server is configured (else the mails wait in the outbox).
        self.sending = sending
        # The sender's wake-up, called once a unit that queued a mail commits.
        self.queued: Callable[[], None] = lambda: None

    async def queue(
        self,
        content: MailContent,
        recipient: Recipient,
        *,
        user_id: int | None = None,
        organisation_id: int | None = None,
        attachments: Sequence[Attachment] = (),
        document_id: int | None = None,
    ) -> int:
        """Renders ``content`` for ``recipient`` (in their language, else the one of the work
        in hand; in their time zone, else the platform's) and writes it to the outbox with the
        unit of work this is called in; sent once that unit commits. ``document_id``: the
        billing document the mail carries. The outbox row's id."""
        changes = self.uow.current()
        assert changes is not None, "a mail is queued inside the use case that causes it"
        lang = supported(recipient.language) or language()
        rendered = render(
            content,
            language=lang,
            timezone=recipient.timezone or self.timezone,
            name=recipient.name,
        )
        mail = OutgoingMail(
            make_msgid(domain=self.domain),
            recipient.address,
            rendered.subject,
            rendered.text,
            rendered.html,
            rendered.language,
            tuple(attachments),
        )
        mail_id = await self.outbox.add(
            mail,
            content.kind.value,
            self.clock.now(),
            user_id=user_id,
            organisation_id=organisation_id,
            document_id=document_id,
        )
        changes.after_commit(self.queued)
        return mail_id

    async def to_person(
        self,
        content: MailContent,
        user_id: int,
        *,
        organisation_id: int | None = None,
        attachments: Sequence[Attachment] = (),
        document_id: int | None = None,
    ) -> int | None:
        """Queues ``content`` for a person, in their language (else the documents' language of
        ``organisation_id``, the organisation the mail is about) and time zone; None, and no
        mail, when they have no e-mail address."""
        user = await self.users.by_id(user_id)
        if user is None or not user.get("email"):
            return None
        lang = user.get("language") or await self._document_language(organisation_id)
        recipient = Recipient(user["email"], user.get("full_name"), lang, user.get("timezone"))
        return await self.queue(
            content,
            recipient,
            user_id=user_id,
            organisation_id=organisation_id,
            attachments=attachments,
            document_id=document_id,
        )

    async def to_organisation(
        self,
        content: MailContent,
        organisation_id: int,
        address: str,
        name: str | None = None,
        *,
        attachments: Sequence[Attachment] = (),
        document_id: int | None = None,
    ) -> int:
        """Queues a document (a payment request) for an organisation at ``address``, in the
        language of the documents it receives."""
        lang = await self._document_language(organisation_id)
        return await self.queue(
            content,
            Recipient(address, name, lang),
            organisation_id=organisation_id,
            attachments=attachments,
            document_id=document_id,
        )

    async def _document_language(self, organisation_id: int | None) -> str | None:
        if organisation_id is None:
            return None
        org = await self.organisations.get(organisation_id)
        return org.document_language if org is not None else None

    # -- the console's view: operators only ------------------------------------------------------
    async def page(
        self, actor: Actor, page: PageRequest, status: MailStatus | None = None
    ) -> Page[QueuedMail]:
        _operators_only(actor)
        return await self.outbox.page(page, status)

    async def get(self, actor: Actor, mail_id: int) -> QueuedMailDetail:
        _operators_only(actor)
        found = await self.outbox.get(mail_id)
        if found is None:
            raise MailNotFound(mail_id)
        return found

    async def of_document(self, actor: Actor, document_id: int) -> list[QueuedMail]:
        """The mails that carried (or will carry) a billing document."""
        _operators_only(actor)
        return await self.outbox.of_document(document_id)


def _operators_only(actor: Actor) -> None:
    """Mails name people of every organisation: only the platform's operators read them all."""
    if not actor.is_operator:
        raise Forbidden(actor, Permission.AUDIT_READ)


class DocumentAttachments(Protocol):
    """The files of the billing document a mail carries, made when the mail is sent (the
    billing side implements it): from the document as it was issued, by renderers that give the
    same bytes each time, so a mail sent again carries the very same files."""

    async def attachments(self, document_id: int, language: str) -> Sequence[Attachment]: ...


class MailSender:
    """Sends the outbox's due mails: at once when woken (a unit that queued one committed), else
    every ``poll`` seconds; each failed attempt waits ``backoff`` seconds, doubled each time up
    to ``backoff_max``. A mail that names a billing document carries its files (``documents``)
    after those it was queued with."""

    def __init__(
        self,
        outbox: MailOutboxRepository,
        mailer: Mailer,
        clock: Clock,
        *,
        batch: int = 20,
        poll: float = 15.0,
        backoff: float = 30.0,
        backoff_max: float = 3600.0,
        documents: DocumentAttachments | None = None,
    ) -> None:
        self.documents = documents
        self.outbox = outbox
        self.mailer = mailer
        self.clock = clock
        self.batch = batch
        self.poll = poll
        self.backoff = backoff
        self.backoff_max = backoff_max
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wakeup.set()

    def retry_delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th attempt (1 → ``backoff``)."""
        seconds = min(self.backoff * 2 ** min(max(attempts - 1, 0), 30), self.backoff_max)
        return timedelta(seconds=seconds)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mail-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def send_due(self) -> int:
        """Sends every mail due now; the number the server took."""
        sent = 0
        while True:
            now = self.clock.now()
            due = await self.outbox.due(now, self.batch)
            for mail in due:
                sent += await self._attempt(mail, now)
            if len(due) < self.batch:
                return sent

    async def _attempt(self, mail: QueuedMailDetail, now: datetime) -> int:
        attempt = mail.attempts + 1
        if not await self.outbox.claim(mail.id, mail.attempts, now + self.retry_delay(attempt)):
            return 0  # another sender took it
        attachments = await self.outbox.attachments(mail.id)
        if mail.document_id is not None and self.documents is not None:
            made = await self.documents.attachments(mail.document_id, mail.language)
            attachments += tuple(made)
        outgoing = OutgoingMail(
            mail.message_id,
            mail.recipient,
            mail.subject,
            mail.text,
            mail.html,
            mail.language,
            attachments,
        )
        try:
            await self.mailer.send(outgoing)
        except MailRefused as exc:
            log.warning("mail %s to %s refused: %s", mail.id, mail.recipient, exc)
            await self.outbox.mark_failed(mail.id, str(exc), final=True)
            return 0
        except MailNotSent as exc:
            log.warning("mail %s not sent (attempt %s): %s", mail.id, attempt, exc)
            await self.outbox.mark_failed(mail.id, str(exc), final=False)
            return 0
        # A crash here (the server has the mail, the outbox does not know): sent again later,
        # with the same Message-ID.
        await failpoints.reach("mail.before_mark")
        await self.outbox.mark_sent(mail.id, self.clock.now())
        return 1

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                await self.send_due()
                wait = self.poll
                upcoming = await self.outbox.next_due()
                if upcoming is not None:
                    wait = min(wait, max((upcoming - self.clock.now()).total_seconds(), 0.05))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("mail: sending failed; trying again in %.0f s", self.poll)
                wait = self.poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), wait)
