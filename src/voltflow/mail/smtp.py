"""The SMTP adapter (``ports.Mailer``): a rendered mail as a multipart/alternative message
(plain text first, HTML second, the Message-ID the outbox made with it), handed to the server of
``VOLTFLOW_SMTP_URL`` by the standard library's ``smtplib``, in a thread.

    smtp://host:25                plain SMTP (a relay on the local network)
    smtp+starttls://user:pw@host:587   STARTTLS, then AUTH when a user is given
    smtps://user:pw@host:465      TLS from the start
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from voltflow.domain.mail import OutgoingMail
from voltflow.services.ports import MailNotSent, MailRefused

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True, slots=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError(f"SMTP URL {url!r}: the scheme is one of {', '.join(SCHEMES)}")
        if not parts.hostname:
            raise ValueError(f"SMTP URL {url!r}: no host")
        return cls(
            scheme,
            parts.hostname,
            parts.port or SCHEMES[scheme],
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
        )


def message(mail: OutgoingMail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.recipient
    msg["Subject"] = mail.subject
    msg["Message-ID"] = mail.message_id
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    # Automatic mail: no out-of-office answers back (RFC 3834).
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        msg.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    # After the parts: making the alternative moves the Content-* headers into the first one.
    msg["Content-Language"] = mail.language
    return msg


class SmtpMailer:
    def __init__(self, url: str, sender: str, *, timeout: float = 30.0) -> None:
        self.server = SmtpServer.parse(url)
        self.sender = sender
        self.timeout = timeout

    async def send(self, mail: OutgoingMail) -> None:
        await asyncio.to_thread(self._send, message(mail, self.sender))

    def _send(self, msg: EmailMessage) -> None:
        s = self.server
        try:
            client: smtplib.SMTP
            if s.scheme == "smtps":
                context = ssl.create_default_context()
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=context)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            with client:
                if s.scheme == "smtp+starttls":
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, s.password or "")
                client.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                raise MailRefused(f"recipient refused: {exc.recipients}") from exc
            raise MailNotSent(f"recipient not taken now: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            text = f"{exc.smtp_code} {exc.smtp_error!r}"
            # A 5xx about the login or the sender: the platform's setting is at fault; the
            # mail is kept for later.
            final = (smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused)
            if exc.smtp_code >= 500 and not isinstance(exc, final):
                raise MailRefused(text) from exc
            raise MailNotSent(text) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailNotSent(f"{type(exc).__name__}: {exc}") from exc
