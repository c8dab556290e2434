"""The one place that wires adapters into services. Entry points (server, CLI, tests) call
:func:`build` and get a :class:`Platform`; nothing else constructs repositories or services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from voltflow.blobs import open_blob_store
from voltflow.config import Settings
from voltflow.domain.monitoring import MonitoringSettings, Priority, Rule
from voltflow.ocpp.server import OcppServer, OcppServerSettings
from voltflow.services.accounts import AccountService
from voltflow.services.activity import ActivityService, CardDailyTotals, StationDailyTotals
from voltflow.services.activity_views import ActivityViews
from voltflow.services.audit import AuditTrail
from voltflow.services.billing import BillingService, BillingSettings
from voltflow.services.cards import CardService
from voltflow.services.charging_periods import ChargingPeriodsService, SessionChargingPeriods
from voltflow.services.commands import CommandService
from voltflow.services.corrections import SessionCorrections
from voltflow.services.document_files import BillingDocumentFiles
from voltflow.services.events import EventSink, LocalDelivery, OutboxRelay
from voltflow.services.health import HealthService
from voltflow.services.jobs import JobService
from voltflow.services.licences import LicenceService
from voltflow.services.lists import ListService
from voltflow.services.mail import MailSender, MailService
from voltflow.services.organisations import ContractService, OrganisationService
from voltflow.services.payments import PaymentService, PaymentSettings, ReminderTask
from voltflow.services.ports import Clock, StationLink, SystemClock
from voltflow.services.prepaid import PrepaidService
from voltflow.services.pricing import (
    LicenceRates,
    PeriodsForPricing,
    PricingService,
    SessionPricing,
)
from voltflow.services.sessions import SessionService
from voltflow.services.station_events import StationEvents
from voltflow.services.stations import StationService
from voltflow.services.tariffs import TariffService
from voltflow.services.tickets import Monitoring, ServiceTickets, TicketService
from voltflow.services.tokens import TokenService
from voltflow.store.activity import ActivityRepository
from voltflow.store.activity_views import ActivityViewRepository
from voltflow.store.billing import BillingRepository
from voltflow.store.cards import CardRepository
from voltflow.store.charging_periods import ChargingPeriodRepository
from voltflow.store.console_sessions import ConsoleSessionRepository
from voltflow.store.database import Database, create_database, upgrade
from voltflow.store.frames import MessageLog
from voltflow.store.jobs import JobRepository
from voltflow.store.licences import LicenceRepository
from voltflow.store.lists import ListRepository
from voltflow.store.mail import MailOutboxRepository
from voltflow.store.organisations import (
    AuditRepository,
    ContractRepository,
    MembershipRepository,
    OrganisationRepository,
)
from voltflow.store.outbox import OutboxRepository
from voltflow.store.payments import PaymentRepository
from voltflow.store.prepaid import PrepaidRepository
from voltflow.store.session_prices import SessionPriceRepository
from voltflow.store.sessions import SessionRepository
from voltflow.store.stations import StationRepository
from voltflow.store.tariffs import TariffRepository
from voltflow.store.tickets import TicketRepository
from voltflow.store.tokens import TokenRepository
from voltflow.store.units import SqlUnitOfWork
from voltflow.store.users import UserRepository
from voltflow.store.writer import DurableWriter

# The schema is created and upgraded by the entry points (``voltflow migrate``, ``serve``): they
# reach the store through here, as everything else does.
__all__ = ["Platform", "build", "create_database", "upgrade"]


@dataclass
class Platform:
    settings: Settings
    clock: Clock
    db: Database
    writer: DurableWriter
    events: StationEvents
    stations: StationService
    sessions: SessionService
    tokens: TokenService
    tariffs: TariffService
    pricing: PricingService
    corrections: SessionCorrections
    activity_views: ActivityViews
    accounts: AccountService
    organisations: OrganisationService
    contracts: ContractService
    prepaid: PrepaidService
    audit: AuditTrail
    cards: CardService
    lists: ListService
    commands: CommandService
    ocpp: OcppServer
    activity: ActivityService
    uow: SqlUnitOfWork
    outbox: OutboxRepository
    # The subscribers of this process, and the relay publishing the outbox to them (or to NATS).
    delivery: LocalDelivery
    relay: OutboxRelay
    health: HealthService
    charging_periods: ChargingPeriodsService
    licences: LicenceService
    mail: MailService
    jobs: JobService
    billing: BillingService
    # First-line service: people's tickets, and the sweep and remedies beside the consumers.
    tickets: TicketService
    monitoring: Monitoring
    payments: PaymentService
    # Sends the mail outbox to the SMTP server; None without one (mails wait in the outbox).
    mail_sender: MailSender | None = None
    # Sends overdue documents' reminders while the server runs.
    reminders: ReminderTask | None = None
    bus: Any = None  # the NATS connection, when gateways share the work
    consumers: Any = None  # the JetStream consumers, when this process runs them

    async def start(self, *, ocpp: bool = True) -> None:
        """``ocpp``: run as the server (stations, the outbox relay, the event consumers); else
        as a command that reads and writes through the services and leaves its events in the
        outbox for the server's relay."""
        await self.writer.start()
        if ocpp and self.settings.nats_url:
            await self._join_bus(self.settings.nats_url)
        if ocpp:
            # Sockets do not survive a restart: whatever was online is offline until it reconnects.
            await self.stations.repo.mark_all_offline()
            await self.ocpp.start()
            await self._start_events(consume=self.settings.consumers)
            if self.mail_sender is not None:
                await self.mail_sender.start()
            if self.reminders is not None:
                await self.reminders.start()

    async def start_worker(self) -> None:
        """Runs the event consumers without stations: from NATS JetStream when it is
        configured, else straight from the outbox."""
        await self.writer.start()
        if self.settings.nats_url:
            import nats

            self.bus = await nats.connect(self.settings.nats_url, name="voltflow-worker")
            self.health.bus_connected = lambda: bool(self.bus.is_connected)
        await self._start_events(consume=True, relay=self.bus is None)
        if self.mail_sender is not None:
            await self.mail_sender.start()

    async def _start_events(self, *, consume: bool, relay: bool = True) -> None:
        if self.bus is not None:
            from voltflow.bus.events import (
                JetStreamConsumers,
                JetStreamSink,
                Names,
                ensure_stream,
            )

            names = Names(self.settings.nats_prefix)
            await ensure_stream(self.bus, names)
            if relay:
                self.relay.sink = JetStreamSink(self.bus, names)
            if consume:
                self.consumers = JetStreamConsumers(self.bus, self.delivery, names)
                await self.consumers.start()
        elif not consume:
            self.relay.sink = _Nowhere()
        if relay:
            await self.relay.start()
        if consume:
            await self.monitoring.start()

    async def _join_bus(self, url: str) -> None:
        import nats

        from voltflow.bus import NatsStationLink

        self.bus = await nats.connect(url, name="voltflow-gateway")
        self.health.bus_connected = lambda: bool(self.bus.is_connected)
        link = NatsStationLink(self.bus, self.ocpp)
        self.ocpp.presence.append(link)
        self.commands.link = link

    async def stop(self) -> None:
        await self.monitoring.stop()
        await self.lists.close()
        await self.ocpp.stop()
        await self.relay.stop()
        if self.mail_sender is not None:
            await self.mail_sender.stop()
        if self.reminders is not None:
            await self.reminders.stop()
        if self.consumers is not None:
            await self.consumers.stop()
        if self.bus is not None:
            try:
                await self.bus.drain()
            except TimeoutError:  # a subscription that would not drain in time: closed anyway
                await self.bus.close()
        await self.writer.stop()
        await self.db.dispose()


class _Nowhere:
    """Without NATS and without consumers here, events wait in the outbox for a process that
    runs them (``voltflow worker``): the relay publishes nothing."""

    async def publish(self, events: Any) -> None:
        raise RuntimeError("this process runs no event consumers")


def monitoring_settings(settings: Settings) -> MonitoringSettings:
    """The rules' thresholds from the platform's settings (``VOLTFLOW_TICKET_*``)."""
    defaults = MonitoringSettings()
    return MonitoringSettings(
        offline_after=timedelta(minutes=settings.ticket_offline_minutes),
        idle_days=settings.ticket_idle_days,
        reboots=settings.ticket_reboots,
        reboot_window=timedelta(minutes=settings.ticket_reboot_window_minutes),
        remedy_wait=timedelta(seconds=settings.ticket_remedy_wait_seconds),
        priorities={
            **defaults.priorities,
            **{Rule(k): Priority(v) for k, v in settings.ticket_priorities.items()},
        },
        response_targets={
            **defaults.response_targets,
            **{Priority(k): timedelta(hours=v) for k, v in settings.ticket_response_hours.items()},
        },
    )


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    link: StationLink | None = None,
    database: Database | None = None,
) -> Platform:
    clock = clock or SystemClock()
    db = database or create_database(settings.database_url, synchronous=settings.sqlite_synchronous)
    writer = DurableWriter(db, commit_interval=settings.commit_interval_ms / 1000)
    outbox = OutboxRepository(db, writer)
    uow = SqlUnitOfWork(db, outbox)
    audit = AuditTrail(AuditRepository(db), clock)
    activity_repo = ActivityRepository(db)
    station_repo = StationRepository(db, writer)
    messages = MessageLog(db, writer, station_repo.sql)
    session_repo = SessionRepository(db, writer, station_repo.sql)
    charging_periods = ChargingPeriodsService(ChargingPeriodRepository(db), session_repo)
    licences = LicenceService(
        LicenceRepository(db),
        audit,
        clock,
        uow=uow,
        timezone=settings.timezone,
        currency=settings.currency,
    )
    tariff_repo = TariffRepository(db)
    price_repo = SessionPriceRepository(db)
    pricing = SessionPricing(
        price_repo,
        tariff_repo,
        clock,
        timezone=settings.timezone,
        currency=settings.currency,
        emsp_margin_per_kwh=settings.emsp_margin_per_kwh,
        periods=PeriodsForPricing(charging_periods),
        licences=LicenceRates(licences),
    )
    rules = monitoring_settings(settings)
    ticket_repo = TicketRepository(db)
    service_tickets = ServiceTickets(ticket_repo, rules, uow, clock)
    # The consumers of events in this process: each applies an event once (``services.events``).
    delivery = LocalDelivery(
        uow,
        outbox,
        clock,
        [
            StationDailyTotals(activity_repo, settings.timezone),
            CardDailyTotals(activity_repo, settings.timezone),
            SessionChargingPeriods(charging_periods),
            pricing,
            service_tickets,
        ],
    )
    sink: EventSink = delivery
    relay = OutboxRelay(outbox, sink, clock)
    uow.committed = relay.wake
    token_repo = TokenRepository(db)
    events = StationEvents(
        station_repo,
        session_repo,
        writer,
        clock,
        heartbeat_interval=settings.heartbeat_interval,
        timezone=settings.timezone,
    )
    events.events_committed = relay.wake
    ocpp = OcppServer(
        events,
        messages,
        clock,
        OcppServerSettings(
            host=settings.ocpp_host,
            port=settings.ocpp_port,
            auto_register=settings.auto_register,
            command_timeout=settings.command_timeout,
            trusted_proxies=settings.trusted_proxies,
        ),
    )
    mail_outbox = MailOutboxRepository(db)
    organisation_repo = OrganisationRepository(db)
    mail = MailService(
        mail_outbox,
        UserRepository(db),
        organisation_repo,
        clock,
        uow=uow,
        timezone=settings.timezone,
        sender=settings.mail_from,
        sending=settings.smtp_url is not None,
    )
    payment_repo = PaymentRepository(db)
    billing_repo = BillingRepository(db)
    mail_sender = None
    if settings.smtp_url:
        from voltflow.mail.smtp import SmtpMailer

        mail_sender = MailSender(
            mail_outbox,
            SmtpMailer(settings.smtp_url, settings.mail_from),
            clock,
            # A billing document's mail carries its PDF (and UBL), made as it is sent.
            documents=BillingDocumentFiles(payment_repo, settings.timezone),
        )
        mail.queued = mail_sender.wake
    prepaid = PrepaidService(
        PrepaidRepository(db),
        ContractRepository(db),
        organisation_repo,
        clock,
        uow=uow,
        mail=mail,
        timezone=settings.timezone,
        ledger=billing_repo,
    )
    # A prepaid session's draw commits with its price lines.
    pricing.after_priced.append(prepaid.draw_for)
    memberships = MembershipRepository(db)
    accounts = AccountService(UserRepository(db), memberships, ConsoleSessionRepository(db), clock)
    commands = CommandService(
        link or ocpp, station_repo, settings.command_timeout, uow=uow, clock=clock
    )
    cards = CardService(
        CardRepository(db),
        organisation_repo,
        memberships,
        audit,
        clock,
        uow=uow,
        emaid_prefix=settings.emaid_prefix,
        timezone=settings.timezone,
        mail=mail,
    )
    lists = ListService(ListRepository(db, writer), station_repo, commands, audit, clock, uow=uow)
    monitoring = Monitoring(
        ticket_repo,
        commands,
        clock,
        rules,
        uow=uow,
        sweep_every=settings.ticket_sweep_seconds,
    )
    service_tickets.remedies_due = monitoring.wake
    cards.listeners.append(lists)
    events.listeners.append(lists)
    payments = PaymentService(
        payment_repo,
        billing_repo,
        prepaid,
        mail,
        audit,
        clock,
        payment_settings(settings),
        uow=uow,
    )
    return Platform(
        settings=settings,
        clock=clock,
        db=db,
        writer=writer,
        events=events,
        stations=StationService(station_repo, messages, clock, commands),
        sessions=SessionService(session_repo),
        tokens=TokenService(token_repo, clock),
        tariffs=TariffService(tariff_repo, audit, clock, settings.timezone, uow=uow),
        pricing=PricingService(
            pricing,
            station_repo,
            UserRepository(db),
            audit,
            clock,
            uow=uow,
            cards=cards,
            tokens=events,
            whitelists=lists,
            bounds=events.bounds,
        ),
        corrections=SessionCorrections(session_repo, audit, clock, uow=uow, bounds=events.bounds),
        activity_views=ActivityViews(ActivityViewRepository(db), price_repo),
        accounts=accounts,
        organisations=OrganisationService(
            organisation_repo,
            memberships,
            accounts,
            audit,
            clock,
            uow=uow,
            mail=mail,
            login_url=f"{settings.console_url}/login",
        ),
        contracts=ContractService(
            ContractRepository(db), organisation_repo, audit, clock, settings.timezone, uow=uow
        ),
        prepaid=prepaid,
        audit=audit,
        cards=cards,
        lists=lists,
        commands=commands,
        ocpp=ocpp,
        activity=ActivityService(activity_repo, station_repo, clock, settings.timezone),
        uow=uow,
        outbox=outbox,
        delivery=delivery,
        relay=relay,
        health=HealthService(db, writer, settings),
        charging_periods=charging_periods,
        licences=licences,
        mail=mail,
        jobs=JobService(
            JobRepository(db),
            open_blob_store(
                settings.files, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region
            ),
            audit,
            clock,
            uow=uow,
            timezone=settings.timezone,
            max_file_bytes=settings.attachment_max_bytes,
        ),
        billing=BillingService(
            billing_repo,
            tariff_repo,
            mail,
            audit,
            clock,
            billing_settings(settings),
            uow=uow,
            prepaid=payment_repo,
        ),
        tickets=TicketService(ticket_repo, audit, clock, uow=uow),
        monitoring=monitoring,
        payments=payments,
        mail_sender=mail_sender,
        reminders=ReminderTask(payments, settings.reminder_interval),
    )


def billing_settings(settings: Settings) -> BillingSettings:
    """The operator as its documents name it, and the platform's billing terms."""
    from voltflow.domain.billing.documents import Party
    from voltflow.domain.billing.parties import BillingDetailsError, bank_account, default_peppol_id
    from voltflow.domain.vat import VatNumberError, belgian_vat_number

    # Every document carries these: a wrong one is said now, naming its setting.
    try:
        bank_account(settings.operator_iban, settings.operator_bic)
    except BillingDetailsError as exc:
        setting = "VOLTFLOW_OPERATOR_BIC" if exc.field == "bic" else "VOLTFLOW_OPERATOR_IBAN"
        raise ValueError(f"{setting}: {exc}") from exc
    if settings.operator_country == "BE":
        try:
            belgian_vat_number(settings.operator_vat)
        except VatNumberError as exc:
            raise ValueError(f"VOLTFLOW_OPERATOR_VAT: {exc}") from exc
    operator = Party(
        settings.operator_name,
        street=settings.operator_street,
        postal_code=settings.operator_postal_code,
        city=settings.operator_city,
        country=settings.operator_country,
        vat_number=settings.operator_vat,
        peppol_id=default_peppol_id(settings.operator_vat),
        iban=settings.operator_iban,
        bic=settings.operator_bic,
        email=settings.operator_email,
    )
    return BillingSettings(
        operator,
        currency=settings.currency,
        vat_rate=settings.vat_rate,
        payment_days=settings.payment_days,
        timezone=settings.timezone,
        peppol_rules=settings.peppol_rules,
    )


def payment_settings(settings: Settings) -> PaymentSettings:
    """The operator's account its SEPA files name, checked now, naming the setting at fault."""
    from voltflow.domain.billing.payments import Creditor, PaymentError

    try:
        creditor = Creditor(
            settings.operator_name,
            settings.operator_iban,
            settings.operator_bic,
            settings.operator_creditor_id,
        )
    except PaymentError as exc:
        setting = {
            "creditor_id": "VOLTFLOW_OPERATOR_CREDITOR_ID",
            "bic": "VOLTFLOW_OPERATOR_BIC",
            "iban": "VOLTFLOW_OPERATOR_IBAN",
        }.get(exc.field, "VOLTFLOW_OPERATOR_NAME")
        raise ValueError(f"{setting}: {exc}") from exc
    return PaymentSettings(
        creditor,
        timezone=settings.timezone,
        pay_reimbursements_at_once=settings.pay_reimbursements_at_once,
    )
