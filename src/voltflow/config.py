"""Settings, from the environment (``VOLTFLOW_*``) and overridden by command-line options."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

# The repository's root, when the platform runs from a checkout (src/voltflow/config.py).
_CHECKOUT = Path(__file__).resolve().parents[2]


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Settings:
    database_url: str = "sqlite:///./voltflow.db"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    ocpp_host: str = "0.0.0.0"
    ocpp_port: int = 9000
    auto_register: bool = False
    heartbeat_interval: int = 300
    command_timeout: float = 30.0
    sqlite_synchronous: str = "FULL"
    # Shortest time between the starts of two group commits (see store.writer): bounds the
    # commits a second, and so their cost, under load; a quiet platform does not wait.
    commit_interval_ms: float = 20.0
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # Always mark console cookies Secure (they are anyway on a request that came over TLS).
    secure_cookies: bool = False
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: addresses or networks.
    # Only through them is a client's address (login throttling) or TLS (Secure cookies) known.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    # Days and hours are those of the site; storage is UTC.
    timezone: str = "Europe/Brussels"
    # Country and provider of the contract ids (eMAID) the platform issues.
    emaid_prefix: str = "BE-VFL"
    # With several gateway processes: NATS carries commands to the one holding a station's socket.
    nats_url: str | None = None
    # With NATS: whether ``serve`` also runs the event consumers (else ``voltflow worker`` does).
    consumers: bool = True
    # Names the platform's stream, subjects and consumers on a NATS server others may share.
    nats_prefix: str = "voltflow"
    # The service provider's share of a public price, per kWh (excl. VAT, in ``currency``); the
    # charge point operator keeps what the host's fee and this leave.
    emsp_margin_per_kwh: Decimal = Decimal(0)
    currency: str = "EUR"
    # The mail server that receives the platform's mail (smtp://host:port, smtp+starttls://…,
    # smtps://…); none: mails wait in the outbox and operators read them in the console.
    smtp_url: str | None = None
    mail_from: str = "Voltflow <noreply@voltflow.invalid>"
    # Where people reach the console, for the links in mails; none: this server's own address.
    public_url: str | None = None
    # The Peppol BIS Billing rules (CEN-EN16931-UBL.xslt, PEPPOL-EN16931-UBL.xslt) that e-invoices
    # are validated against before they leave; they are not shipped in the package.
    peppol_rules: Path = field(default_factory=lambda: _CHECKOUT.parent / "shared" / "peppol")
    # Where jobs' photos, signatures and documents are kept: a folder, or S3-compatible object
    # storage as s3://bucket/prefix (credentials as boto3 finds them, AWS_ACCESS_KEY_ID …).
    files: str = "./voltflow-files"
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # The largest file a job takes.
    attachment_max_bytes: int = 15 * 1024 * 1024
    # The operator as its documents name it: the seller of its invoices and payment requests,
    # the buyer of self-billed statements, the creditor of its direct debits. Demo values until
    # a deployment sets its own.
    operator_name: str = "Voltflow Operations NV"
    operator_street: str = "Wetstraat 16"
    operator_postal_code: str = "1000"
    operator_city: str = "Brussel"
    operator_country: str = "BE"
    operator_vat: str = "BE0447123478"
    operator_iban: str = "BE71096123456769"
    operator_bic: str = "GKCCBEBB"
    # The SEPA creditor identifier its direct debits carry.
    operator_creditor_id: str = "BE95ZZZ0447123478"
    operator_email: str | None = None
    # VAT on subscriptions and on charging whose tariff states none (percent); days a document
    # gives to pay.
    vat_rate: Decimal = Decimal(21)
    payment_days: int = 14
    # First-line service (``domain.monitoring``): a station offline this long gets a ticket, a
    # public station without a successful session for this many days too, this many boots
    # within the window too; each remedy is given this long to clear the condition; the sweep
    # for what no message tells runs this often; and how soon each priority must be taken up.
    ticket_offline_minutes: float = 30
    ticket_idle_days: int = 7
    ticket_reboots: int = 5
    ticket_reboot_window_minutes: float = 60
    ticket_remedy_wait_seconds: float = 180
    ticket_sweep_seconds: float = 60
    ticket_response_hours: dict[str, float] = field(
        default_factory=lambda: {"urgent": 2, "high": 8, "normal": 48, "low": 120}
    )
    # A rule's priority where it differs from the default (rule → urgent/high/normal/low).
    ticket_priorities: dict[str, str] = field(default_factory=dict)
    # Pay employees their reimbursement with their statement, before their employer's payment
    # request is paid (the platform advances it); else once it is paid.
    pay_reimbursements_at_once: bool = False
    # Seconds between two passes that send overdue documents' reminders (0: none; ``voltflow
    # billing remind`` sends them by hand).
    reminder_interval: float = 6 * 3600

    @property
    def console_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::") else self.http_host
        return f"http://{host}:{self.http_port}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        s = cls()
        s.database_url = e.get("VOLTFLOW_DATABASE_URL", s.database_url)
        s.http_host = e.get("VOLTFLOW_HTTP_HOST", s.http_host)
        s.http_port = int(e.get("VOLTFLOW_HTTP_PORT", s.http_port))
        s.ocpp_host = e.get("VOLTFLOW_OCPP_HOST", s.ocpp_host)
        s.ocpp_port = int(e.get("VOLTFLOW_OCPP_PORT", s.ocpp_port))
        s.auto_register = _bool(e.get("VOLTFLOW_AUTO_REGISTER"), s.auto_register)
        s.heartbeat_interval = int(e.get("VOLTFLOW_HEARTBEAT_INTERVAL", s.heartbeat_interval))
        s.command_timeout = float(e.get("VOLTFLOW_COMMAND_TIMEOUT", s.command_timeout))
        s.sqlite_synchronous = e.get("VOLTFLOW_SQLITE_SYNCHRONOUS", s.sqlite_synchronous).upper()
        s.commit_interval_ms = float(e.get("VOLTFLOW_COMMIT_INTERVAL_MS", s.commit_interval_ms))
        if "VOLTFLOW_SECRET_KEY" in e:
            s.secret_key = e["VOLTFLOW_SECRET_KEY"]
        s.secure_cookies = _bool(e.get("VOLTFLOW_SECURE_COOKIES"), s.secure_cookies)
        if "VOLTFLOW_TRUSTED_PROXIES" in e:
            proxies = e["VOLTFLOW_TRUSTED_PROXIES"].replace(",", " ").split()
            s.trusted_proxies = tuple(proxies)
        s.timezone = e.get("VOLTFLOW_TIMEZONE", s.timezone)
        s.emaid_prefix = e.get("VOLTFLOW_EMAID_PREFIX", s.emaid_prefix)
        s.nats_url = e.get("VOLTFLOW_NATS_URL") or None
        s.consumers = _bool(e.get("VOLTFLOW_CONSUMERS"), s.consumers)
        s.nats_prefix = e.get("VOLTFLOW_NATS_PREFIX", s.nats_prefix)
        if "VOLTFLOW_EMSP_MARGIN_PER_KWH" in e:
            s.emsp_margin_per_kwh = Decimal(e["VOLTFLOW_EMSP_MARGIN_PER_KWH"])
        s.currency = e.get("VOLTFLOW_CURRENCY", s.currency)
        s.smtp_url = e.get("VOLTFLOW_SMTP_URL") or None
        s.mail_from = e.get("VOLTFLOW_MAIL_FROM") or s.mail_from
        s.public_url = e.get("VOLTFLOW_PUBLIC_URL") or None
        if e.get("VOLTFLOW_PEPPOL_RULES"):
            s.peppol_rules = Path(e["VOLTFLOW_PEPPOL_RULES"])
        s.files = e.get("VOLTFLOW_FILES") or s.files
        s.s3_endpoint_url = e.get("VOLTFLOW_S3_ENDPOINT_URL") or None
        s.s3_region = e.get("VOLTFLOW_S3_REGION") or None
        if e.get("VOLTFLOW_ATTACHMENT_MAX_MB"):
            s.attachment_max_bytes = int(Decimal(e["VOLTFLOW_ATTACHMENT_MAX_MB"]) * 1024 * 1024)
        for name in (
            "operator_name",
            "operator_street",
            "operator_postal_code",
            "operator_city",
            "operator_country",
            "operator_vat",
            "operator_iban",
            "operator_bic",
            "operator_creditor_id",
        ):
            setattr(s, name, e.get(f"VOLTFLOW_{name.upper()}") or getattr(s, name))
        s.operator_email = e.get("VOLTFLOW_OPERATOR_EMAIL") or None
        if "VOLTFLOW_VAT_RATE" in e:
            s.vat_rate = Decimal(e["VOLTFLOW_VAT_RATE"])
        s.payment_days = int(e.get("VOLTFLOW_PAYMENT_DAYS", s.payment_days))
        for name, convert in (
            ("offline_minutes", float),
            ("idle_days", int),
            ("reboots", int),
            ("reboot_window_minutes", float),
            ("remedy_wait_seconds", float),
            ("sweep_seconds", float),
        ):
            value = e.get(f"VOLTFLOW_TICKET_{name.upper()}")
            if value:
                setattr(s, f"ticket_{name}", convert(value))
        if e.get("VOLTFLOW_TICKET_RESPONSE_HOURS"):
            hours = _pairs(e["VOLTFLOW_TICKET_RESPONSE_HOURS"])
            s.ticket_response_hours = {**s.ticket_response_hours, **_hours(hours)}
        if e.get("VOLTFLOW_TICKET_PRIORITIES"):
            s.ticket_priorities = _pairs(e["VOLTFLOW_TICKET_PRIORITIES"])
        s.pay_reimbursements_at_once = _bool(
            e.get("VOLTFLOW_PAY_REIMBURSEMENTS_AT_ONCE"), s.pay_reimbursements_at_once
        )
        if e.get("VOLTFLOW_REMINDER_INTERVAL"):
            s.reminder_interval = float(e["VOLTFLOW_REMINDER_INTERVAL"])
        return s


def _pairs(text: str) -> dict[str, str]:
    """``a=1, b=2`` (commas or spaces between pairs)."""
    pairs: dict[str, str] = {}
    for part in text.replace(",", " ").split():
        name, sep, value = part.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"{part!r}: give NAME=VALUE pairs")
        pairs[name.strip().lower()] = value.strip().lower()
    return pairs


def _hours(pairs: dict[str, str]) -> dict[str, float]:
    return {name: float(value) for name, value in pairs.items()}
