"""Split-billing licences: who may see and manage them, adding one, changing its rate, the
sessions it reimburses, and the sessions external devices report by import.

The questions pricing asks (DESIGN §2 E, §3):

- is session S split billing? — its stored type (``session_type == "split_billing"``), decided
  when it closed: at a station, from the licences of the station valid at its start holding its
  card (``store.licences.licensed_at_station``); for an external device's session, the same rule
  at import;
- which rate applies to S? — :meth:`LicenceService.line` (a ``SplitBillingLine``: rate, source,
  reimbursement) for a session reference: a station session's id, or ``device-<n>``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from voltflow.domain.access import Actor, Permission
from voltflow.domain.authorization import normalize_uid
from voltflow.domain.events import SessionClosed
from voltflow.domain.licences import (
    CregQuarterRate,
    CregRate,
    CregTable,
    DeviceKind,
    DeviceRef,
    DeviceReimbursement,
    DeviceSession,
    EmployerRate,
    ExternalDevice,
    FixedRate,
    LicenceError,
    LicenceRecord,
    Policy,
    RateChange,
    SplitBillingLicence,
    SplitBillingLine,
    check_rate,
    device_reimbursement,
    device_session_id,
    device_session_ref,
    licensed,
    split_billing_line,
)
from voltflow.domain.session_types import SessionFacts, SessionType, ValidityBounds, classify
from voltflow.i18n import _
from voltflow.services.access import require, require_found, scope_of
from voltflow.services.audit import AuditTrail

# The same refusal as a card import's: each problem names its row and column.
from voltflow.services.cards import ImportProblem, ImportRejected
from voltflow.services.ports import Clock, UnitOfWork
from voltflow.services.units import use_case
from voltflow.store.licences import LicenceRepository, reimbursement_values

P = Permission
IMPORT_STOP_REASON = "Imported"
# An external device's id is as long as a station's may be: a licence names either by its id,
# and a station's id is looked up first.
DEVICE_ID_MAX = 64
MAX_IMPORT_ROWS = 10_000


class LicenceProblem(ValueError):
    """A refusal people can act on, naming the field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class LicenceNotFound(LookupError):
    pass


class DeviceNotFound(LookupError):
    pass


def _refusal(error: LicenceError) -> str:
    """The domain's refusal in the language of the moment."""
    texts = {
        "rate_invalid": lambda: _("rate: over 0 and under 10 €/kWh, at most 4 decimals"),
        "region_unknown": lambda: _("region: one of flanders, wallonia, brussels"),
        "region_missing": lambda: _("a CREG rate needs a region"),
        "rate_missing": lambda: _("a fixed or employer rate needs its rate"),
        "period_empty": lambda: _("a licence must end after it starts"),
        "change_in_past": lambda: _(
            "a rate change takes effect now or later: sessions already charged keep their rate"
        ),
        "change_before_last": lambda: _("a rate change takes effect after the last change"),
    }
    text = texts.get(error.code)
    return text() if text is not None else str(error)


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: list[DeviceSession]
    already_stored: int  # rows of sessions imported before (same device and start): skipped

    @property
    def amounts(self) -> list[Decimal]:
        """What each added session that is reimbursed an amount (split billing, with a rate)
        is reimbursed, to the cent."""
        return [
            s.reimbursement.amount.amount
            for s in self.added
            if s.reimbursement is not None and s.reimbursement.amount is not None
        ]

    @property
    def total(self) -> Decimal:
        """What the added sessions are reimbursed in all: the sum of their rounded amounts."""
        return sum(self.amounts, Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    started_at: datetime
    stopped_at: datetime
    energy_wh: int
    card_uid: str


class LicenceService:
    def __init__(
        self,
        repo: LicenceRepository,
        audit: AuditTrail,
        clock: Clock,
        *,
        uow: UnitOfWork,
        timezone: str = "Europe/Brussels",
        bounds: ValidityBounds | None = None,
        currency: str = "EUR",
    ) -> None:
        self.repo = repo
        self.audit = audit
        self.clock = clock
        self.uow = uow
        self.zone = ZoneInfo(timezone)
        self.bounds = bounds or ValidityBounds()
        self.currency = currency

    def local_start(self, day: date) -> datetime:
        """The first instant of ``day`` in the platform's time zone."""
        return datetime.combine(day, time(0), self.zone).astimezone(UTC)

    def today(self) -> date:
        return self.clock.now().astimezone(self.zone).date()

    # -- reading -------------------------------------------------------------------------------
    async def get(self, actor: Actor, licence_id: int) -> LicenceRecord:
        """The licence, to its employer's fleet managers, the operator and its employee;
        to anyone else it does not exist."""
        found = await self.repo.get(licence_id)
        own = found is not None and found.licence.employee_id == actor.user_id
        if own and (actor.scopes is None or P.LICENCES_READ in actor.scopes):
            assert found is not None
            return found
        return require_found(actor, P.LICENCES_READ, found, lambda: LicenceNotFound(licence_id))

    async def listing(self, actor: Actor) -> list[LicenceRecord]:
        within = scope_of(actor, P.LICENCES_READ)
        if within is not None and actor.scopes is not None and P.LICENCES_READ not in actor.scopes:
            return []
        return await self.repo.listing(
            within=within, employee_id=actor.user_id if within is not None else None
        )

    async def lines(self, actor: Actor, licence_id: int) -> list[SplitBillingLine]:
        """The licence's split-billing sessions, newest first, each with its rate and
        reimbursement."""
        record = await self.get(actor, licence_id)
        return await self._lines(record.licence)

    async def _lines(self, licence: SplitBillingLicence) -> list[SplitBillingLine]:
        if not licence.device.is_station:
            # An imported session's reimbursement was decided, and stored, at its import.
            return await self.repo.device_lines(licence)
        creg = await self.repo.creg_table()
        return [
            split_billing_line(licence, creg, ref, uid, start, stop, wh)
            for ref, uid, start, stop, wh in await self.repo.split_billing_sessions(licence)
        ]

    async def creg_table(self) -> CregTable:
        return await self.repo.creg_table()

    # -- what pricing asks (the platform's own questions: no actor) ------------------------------
    async def licence_of(
        self, device: DeviceRef, card_uid: str, started_at: datetime
    ) -> SplitBillingLicence | None:
        """The licence under which a session at ``device`` with ``card_uid`` started at
        ``started_at`` is split billing, if any."""
        return licensed(await self.repo.for_device(device), device, card_uid, started_at)

    async def line(
        self,
        device: DeviceRef,
        session_ref: str,
        card_uid: str,
        started_at: datetime,
        stopped_at: datetime,
        energy_wh: int,
    ) -> SplitBillingLine | None:
        """The rate and reimbursement of a split-billing session (as ``SessionClosed`` tells
        it: station or device, session id, token, start, stop, energy); None when no licence
        covers it. ``rate``/``amount`` None: a licence covers it but no rate applies (the CREG
        table lacks the quarter)."""
        licence = await self.licence_of(device, normalize_uid(card_uid), started_at)
        if licence is None:
            return None
        creg = await self.repo.creg_table()
        return split_billing_line(
            licence, creg, session_ref, card_uid, started_at, stopped_at, energy_wh
        )

    async def line_of_event(self, event: SessionClosed) -> SplitBillingLine | None:
        """:meth:`line` for a closed session's event (a station's or an external device's)."""
        if event.session_type != SessionType.SPLIT_BILLING.value:
            return None
        device = await self._device_ref(
            event.station_id, external=device_session_id(event.session_id) is not None
        )
        if device is None:
            return None
        return await self.line(
            device,
            event.session_id,
            event.id_token,
            event.started_at,
            event.stopped_at,
            event.energy_wh,
        )

    async def _device_ref(self, device_id: str, *, external: bool) -> DeviceRef | None:
        if not external:
            return DeviceRef(DeviceKind.STATION, device_id)
        device = await self.repo.device(device_id)
        return None if device is None else DeviceRef(device.kind, device.id)

    # -- managing ------------------------------------------------------------------------------
    async def resolve_employer(self, actor: Actor, name_or_id: str) -> int:
        """An organisation by its id or exact name, among those the actor knows."""
        found = await self.repo.find_organisation(name_or_id.strip())
        visible = [
            (org_id, name) for org_id, name in found if actor.is_operator or actor.roles_in(org_id)
        ]
        if not visible:
            raise LicenceProblem(
                _("employer: no organisation %(name)s") % {"name": name_or_id}, "employer"
            )
        if len(visible) > 1:
            raise LicenceProblem(
                _("employer: several organisations are called %(name)s: give its id")
                % {"name": name_or_id},
                "employer",
            )
        return visible[0][0]

    @use_case
    async def add(
        self,
        actor: Actor,
        device_id: str,
        card_uids: Sequence[str],
        policy: Policy,
        *,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        employer_id: int | None = None,
        employee_id: int | None = None,
        device_kind: DeviceKind | None = None,
        device_label: str | None = None,
    ) -> LicenceRecord:
        """A licence for a station of the platform or an external device (registered here when
        ``device_kind`` names one and the id is new). The employer is the cards' organisation
        unless given; the employee, their holder unless given."""
        now = self.clock.now()
        if employer_id is not None:  # another employer's: refused before anything is looked up
            require(actor, P.LICENCES_WRITE, employer_id)
        uids = sorted({normalize_uid(u) for u in card_uids if u.strip()})
        if not uids:
            raise LicenceProblem(_("card: at least one"), "card")
        owners = await self.repo.card_owners(uids)
        # A card the actor may not see is as unknown as one that does not exist.
        for uid in uids:
            owner = owners.get(uid)
            if owner is None or not (
                actor.is_operator or (owner[0] is not None and actor.roles_in(owner[0]))
            ):
                raise LicenceProblem(_("card: no card %(uid)s") % {"uid": uid}, "card")
        if employer_id is None:
            orgs = {owners[u][0] for u in uids}
            if len(orgs) != 1 or None in orgs:
                raise LicenceProblem(
                    _("employer: the cards belong to no single organisation: name the employer"),
                    "employer",
                )
            employer_id = orgs.pop()
        assert employer_id is not None
        require(actor, P.LICENCES_WRITE, employer_id)
        for uid in uids:
            if owners[uid][0] != employer_id:
                raise LicenceProblem(
                    _("card: %(uid)s is not a card of the employer") % {"uid": uid}, "card"
                )
        if employee_id is None:
            drivers = {owners[u][1] for u in uids}
            employee_id = drivers.pop() if len(drivers) == 1 else None
        policy = self._checked(policy)
        device = await self._device_for(
            actor, device_id, employer_id, device_kind, device_label, now
        )
        start = valid_from or now
        try:
            probe = SplitBillingLicence(
                0, employer_id, employee_id, device, frozenset(uids), start, valid_until, ()
            )
        except LicenceError as exc:
            raise LicenceProblem(_refusal(exc), "valid_until") from exc
        for other in await self.repo.for_device(device):
            clash = probe.cards & other.cards
            if clash and _periods_overlap(probe, other):
                raise LicenceProblem(
                    _("card: %(uid)s already has a licence on %(device)s for that period")
                    % {"uid": sorted(clash)[0], "device": device.id},
                    "card",
                )
        licence_id = await self.repo.add(
            employer_id,
            employee_id,
            device,
            uids,
            start,
            valid_until,
            RateChange(start, policy),
            now,
        )
        await self.audit.record(
            actor,
            "licence.create",
            "licence",
            licence_id,
            employer_id,
            {"device": device.id, "cards": uids, **_policy_detail(policy)},
        )
        return await self.get(actor, licence_id)

    async def _device_for(
        self,
        actor: Actor,
        device_id: str,
        employer_id: int,
        kind: DeviceKind | None,
        label: str | None,
        now: datetime,
    ) -> DeviceRef:
        device_id = device_id.strip()
        if not 1 <= len(device_id) <= DEVICE_ID_MAX:
            raise LicenceProblem(_("device: 1–%(n)s characters") % {"n": DEVICE_ID_MAX}, "device")
        is_station, _owner = await self.repo.station_owner(device_id)
        if is_station:
            if kind is not None and kind is not DeviceKind.STATION:
                raise LicenceProblem(
                    _("device: %(id)s is a station of the platform") % {"id": device_id}, "device"
                )
            return DeviceRef(DeviceKind.STATION, device_id)
        device = await self.repo.device(device_id)
        if device is not None:
            if not (actor.is_operator or device.organisation_id == employer_id):
                raise LicenceProblem(
                    _("device: no station or device %(id)s") % {"id": device_id}, "device"
                )
            return DeviceRef(device.kind, device.id)
        if kind is None or kind is DeviceKind.STATION:
            raise LicenceProblem(
                _(
                    "device: no station or device %(id)s (give the kind of an external device "
                    "to register it: cable or meter)"
                )
                % {"id": device_id},
                "device",
            )
        await self.repo.add_device(device_id, kind, employer_id, label, now)
        await self.audit.record(
            actor, "device.create", "device", device_id, employer_id, {"kind": kind.value}
        )
        return DeviceRef(kind, device_id)

    @use_case
    async def change_rate(
        self, actor: Actor, licence_id: int, policy: Policy, effective_from: datetime
    ) -> LicenceRecord:
        """A new policy for sessions starting from ``effective_from`` on (now or later)."""
        record = await self._managed(actor, licence_id)
        policy = self._checked(policy)
        change = RateChange(effective_from, policy)
        try:
            record.licence.check_change(change, self.clock.now())
        except LicenceError as exc:
            raise LicenceProblem(_refusal(exc), "from") from exc
        await self.repo.add_rate(licence_id, change, self.clock.now())
        await self.audit.record(
            actor,
            "licence.rate",
            "licence",
            licence_id,
            record.licence.employer_id,
            {"from": effective_from.isoformat(), **_policy_detail(policy)},
        )
        return await self.get(actor, licence_id)

    def effective_from(self, day: date | None) -> datetime:
        """When a change given as a local date takes effect: that day's start, or now for
        today or no date (a change never reaches back; an earlier day is refused)."""
        now = self.clock.now()
        if day is None or day == self.today():
            return now
        return self.local_start(day)

    @use_case
    async def set_creg_rate(self, actor: Actor, rate: CregQuarterRate) -> None:
        """The regulator's rate for a region and quarter (the operator keeps the table)."""
        require(actor, P.LICENCES_WRITE, None)
        try:
            check_rate(rate.per_kwh)
        except LicenceError as exc:
            raise LicenceProblem(_refusal(exc), "rate") from exc
        await self.repo.set_creg_rate(rate)
        await self.audit.record(
            actor,
            "creg.rate",
            "creg_rate",
            f"{rate.region.value}-{rate.quarter}",
            None,
            {"rate": str(rate.per_kwh)},
        )

    async def _managed(self, actor: Actor, licence_id: int) -> LicenceRecord:
        record = await self.repo.get(licence_id)
        record = require_found(actor, P.LICENCES_READ, record, lambda: LicenceNotFound(licence_id))
        require(actor, P.LICENCES_WRITE, record.licence.employer_id)
        return record

    def _checked(self, policy: Policy) -> Policy:
        if isinstance(policy, FixedRate | EmployerRate):
            try:
                check_rate(policy.per_kwh)
            except LicenceError as exc:
                raise LicenceProblem(_refusal(exc), "rate") from exc
        return policy

    # -- external devices' sessions --------------------------------------------------------------
    async def device(self, actor: Actor, device_id: str) -> ExternalDevice:
        """An external device, to its employer's fleet managers and the operator."""
        found = await self.repo.device(device_id)
        require(
            actor,
            P.LICENCES_WRITE,
            found.organisation_id if found is not None else None,
            missing=lambda: DeviceNotFound(device_id),
            exists=found is not None,
        )
        assert found is not None
        return found

    @use_case
    async def import_sessions(
        self, actor: Actor, device_id: str, text: str, *, format: str = "csv"
    ) -> ImportResult:
        """Sessions an external device reports, as CSV or JSON, with ``started_at``,
        ``stopped_at`` (ISO 8601 with offset), ``energy_wh`` or ``kwh`` (or ``meter_start_wh``
        and ``meter_stop_wh``) and ``card_uid``. Any bad row refuses the whole file, naming its
        row and column; sessions imported before (same device, same start) are skipped. Each
        new session is typed and carries its reimbursement, stored with it in this transaction
        (``domain.licences.device_reimbursement``)."""
        device = await self.device(actor, device_id)
        ref = DeviceRef(device.kind, device.id)
        records = _records_of(text, format)
        problems: list[ImportProblem] = []
        rows: list[_Row] = []
        for line, record in records:
            row = _parse_row(line, record, problems)
            if row is not None:
                rows.append(row)
        owners = await self.repo.card_owners(sorted({r.card_uid for r in rows}))
        for row in rows:
            if row.card_uid not in owners:
                problems.append(
                    ImportProblem(
                        row.line, "card_uid", _("unknown card %(uid)s") % {"uid": row.card_uid}
                    )
                )
        ordered = sorted(rows, key=lambda r: r.started_at)
        # Against the one that ends last so far: a long session may cover several short ones.
        latest: _Row | None = None
        for row in ordered:
            if latest is not None and row.started_at < latest.stopped_at:
                problems.append(
                    ImportProblem(
                        row.line,
                        "started_at",
                        _("overlaps the session of row %(row)s on the same device")
                        % {"row": latest.line},
                    )
                )
            if latest is None or row.stopped_at > latest.stopped_at:
                latest = row
        fresh: list[_Row] = []
        skipped = 0
        if ordered:
            stored = await self.repo.device_sessions_between(
                device.id, ordered[0].started_at, max(r.stopped_at for r in ordered)
            )
            starts = {s.started_at for s in stored}
            for row in ordered:
                if row.started_at in starts:
                    skipped += 1  # imported before: the repeat adds nothing
                    continue
                clash = next(
                    (
                        s
                        for s in stored
                        if s.started_at < row.stopped_at and row.started_at < s.stopped_at
                    ),
                    None,
                )
                if clash is not None:
                    problems.append(
                        ImportProblem(
                            row.line,
                            "started_at",
                            _("overlaps a session already stored for the device (%(start)s)")
                            % {"start": clash.started_at.isoformat()},
                        )
                    )
                    continue
                fresh.append(row)
        if problems:
            raise ImportRejected(sorted(problems, key=lambda p: p.row))
        now = self.clock.now()
        licences = await self.repo.for_device(ref)
        creg = await self.repo.creg_table()
        typed: list[dict[str, Any]] = []
        reimbursed: list[DeviceReimbursement] = []
        for row in fresh:
            licence = licensed(licences, ref, row.card_uid, row.started_at)
            verdict = classify(
                SessionFacts(
                    token_accepted=True,
                    energy_wh=row.energy_wh,
                    duration=row.stopped_at - row.started_at,
                    licensed_employee_token=licence is not None,
                ),
                self.bounds,
            )
            # Decided with the session, in its transaction: the rate in force at its start (a
            # later change of rate never reaches it), to the cent, without VAT.
            reimbursement = device_reimbursement(
                verdict.type, licence, creg, row.started_at, row.energy_wh, self.currency
            )
            reimbursed.append(reimbursement)
            typed.append(
                {
                    "device_id": device.id,
                    "card_uid": row.card_uid,
                    "started_at": row.started_at,
                    "stopped_at": row.stopped_at,
                    "energy_wh": row.energy_wh,
                    "session_type": verdict.type.value,
                    "type_reason": verdict.reason,
                    "imported_at": now,
                    **reimbursement_values(reimbursement),
                }
            )
        try:
            ids = await self.repo.insert_device_sessions(typed)
        except IntegrityError as exc:  # another import of the same sessions meanwhile
            raise LicenceProblem(_("the device's sessions changed meanwhile: try again")) from exc
        changes = self.uow.current()
        assert changes is not None
        added = []
        for session_id, values, reimbursement in zip(ids, typed, reimbursed, strict=True):
            session = DeviceSession(
                session_id,
                device.id,
                values["card_uid"],
                values["started_at"],
                values["stopped_at"],
                values["energy_wh"],
                values["session_type"],
                values["type_reason"],
                reimbursement,
            )
            added.append(session)
            changes.emit(
                SessionClosed(
                    occurred_at=now,
                    session_id=device_session_ref(session_id),
                    station_id=device.id,
                    evse_id=1,
                    connector_id=1,
                    id_token=session.card_uid,
                    started_at=session.started_at,
                    stopped_at=session.stopped_at,
                    energy_wh=session.energy_wh,
                    session_type=session.session_type,
                    type_reason=session.type_reason,
                    stop_reason=IMPORT_STOP_REASON,
                    closed_by="import",
                )
            )
        if added:
            await self.audit.record(
                actor,
                "device.import",
                "device",
                device.id,
                device.organisation_id,
                {
                    "added": len(added),
                    "already_stored": skipped,
                    "reimbursed": str(ImportResult(added, skipped).total),
                },
            )
        return ImportResult(added, skipped)


def _periods_overlap(a: SplitBillingLicence, b: SplitBillingLicence) -> bool:
    a_end = a.valid_until or datetime.max.replace(tzinfo=a.valid_from.tzinfo)
    b_end = b.valid_until or datetime.max.replace(tzinfo=b.valid_from.tzinfo)
    return a.valid_from < b_end and b.valid_from < a_end


def _policy_detail(policy: Policy) -> dict[str, Any]:
    if isinstance(policy, CregRate):
        return {"source": policy.source.value, "region": policy.region.value}
    return {"source": policy.source.value, "rate": str(policy.per_kwh)}


_COLUMNS = (
    "started_at",
    "stopped_at",
    "energy_wh",
    "kwh",
    "meter_start_wh",
    "meter_stop_wh",
    "card_uid",
)


def _records_of(text: str, format: str) -> list[tuple[int, dict[str, str]]]:
    """(row number, values) of each session in the file; a file that cannot be read at all is
    refused as a whole."""
    if format == "json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ImportRejected(
                [ImportProblem(1, "-", _("not JSON: %(error)s") % {"error": exc})]
            ) from exc
        if isinstance(data, dict) and isinstance(data.get("sessions"), list):
            data = data["sessions"]
        if not isinstance(data, list):
            raise ImportRejected(
                [ImportProblem(1, "-", _('a list of sessions, or {"sessions": [...]}'))]
            )
        out = []
        problems = []
        for n, item in enumerate(data, start=1):
            if not isinstance(item, dict):
                problems.append(ImportProblem(n, "-", _("a session is an object")))
                continue
            out.append((n, {str(k): "" if v is None else str(v) for k, v in item.items()}))
        if problems:
            raise ImportRejected(problems)
        _check_size(len(out))
        return out
    if format != "csv":
        raise LicenceProblem(_("format: csv or json"), "format")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    problems = []
    for needed in ("started_at", "stopped_at", "card_uid"):
        if needed not in header:
            problems.append(ImportProblem(1, needed, _("column missing from the header")))
    if not (
        {"energy_wh", "kwh"} & set(header) or {"meter_start_wh", "meter_stop_wh"} <= set(header)
    ):
        problems.append(
            ImportProblem(1, "energy_wh", _("column missing from the header (energy_wh or kwh)"))
        )
    for h in header:
        if h not in _COLUMNS:
            problems.append(
                ImportProblem(
                    1,
                    h,
                    _("unknown column (expected %(columns)s)") % {"columns": ", ".join(_COLUMNS)},
                )
            )
    if problems:
        raise ImportRejected(problems)
    out = []
    for line, raw in enumerate(reader, start=2):
        if None in raw:
            problems.append(ImportProblem(line, "-", _("more fields than columns")))
            continue
        record = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if any(record.values()):
            out.append((line, record))
    if problems:
        raise ImportRejected(problems)
    _check_size(len(out))
    return out


def _check_size(rows: int) -> None:
    if rows > MAX_IMPORT_ROWS:
        raise ImportRejected(
            [
                ImportProblem(
                    MAX_IMPORT_ROWS + 1,
                    "-",
                    _("at most %(n)s sessions a file") % {"n": MAX_IMPORT_ROWS},
                )
            ]
        )


def _instant(line: int, column: str, value: str, problems: list[ImportProblem]) -> datetime | None:
    if not value:
        problems.append(ImportProblem(line, column, _("missing")))
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        problems.append(
            ImportProblem(
                line, column, _("%(value)s is not an ISO 8601 time") % {"value": repr(value)}
            )
        )
        return None
    if parsed.tzinfo is None:
        problems.append(
            ImportProblem(line, column, _("%(value)s has no UTC offset") % {"value": repr(value)})
        )
        return None
    return parsed.astimezone(UTC)


def _whole(line: int, column: str, value: str, problems: list[ImportProblem]) -> int | None:
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number != number.to_integral_value():
        problems.append(
            ImportProblem(
                line, column, _("%(value)s is not a whole number of Wh") % {"value": repr(value)}
            )
        )
        return None
    return int(number)


def _parse_row(line: int, record: dict[str, str], problems: list[ImportProblem]) -> _Row | None:
    before = len(problems)
    unknown = [k for k in record if k not in _COLUMNS]
    for k in unknown:
        problems.append(ImportProblem(line, k, _("unknown column")))
    started = _instant(line, "started_at", record.get("started_at", ""), problems)
    stopped = _instant(line, "stopped_at", record.get("stopped_at", ""), problems)
    if started is not None and stopped is not None and stopped <= started:
        problems.append(ImportProblem(line, "stopped_at", _("ends before it starts")))
    energy: int | None = None
    if record.get("energy_wh"):
        energy = _whole(line, "energy_wh", record["energy_wh"], problems)
        column = "energy_wh"
    elif record.get("kwh"):
        column = "kwh"
        try:
            kwh = Decimal(record["kwh"])
        except InvalidOperation:
            kwh = Decimal("NaN")
        if not kwh.is_finite():
            problems.append(
                ImportProblem(
                    line, "kwh", _("%(value)s is not a number") % {"value": repr(record["kwh"])}
                )
            )
        else:
            wh = kwh * 1000
            if wh != wh.to_integral_value():
                problems.append(ImportProblem(line, "kwh", _("at most 3 decimals (Wh)")))
            else:
                energy = int(wh)
    elif record.get("meter_start_wh") or record.get("meter_stop_wh"):
        column = "meter_stop_wh"
        start_wh = _whole(line, "meter_start_wh", record.get("meter_start_wh", ""), problems)
        stop_wh = _whole(line, "meter_stop_wh", record.get("meter_stop_wh", ""), problems)
        if start_wh is not None and stop_wh is not None:
            if stop_wh < start_wh:
                problems.append(ImportProblem(line, "meter_stop_wh", _("the meter goes backwards")))
            else:
                energy = stop_wh - start_wh
    else:
        column = "energy_wh"
        problems.append(ImportProblem(line, "energy_wh", _("missing (energy_wh or kwh)")))
    if energy is not None and energy < 0:
        problems.append(ImportProblem(line, column, _("negative energy")))
    uid = normalize_uid(record.get("card_uid", ""))
    if not uid:
        problems.append(ImportProblem(line, "card_uid", _("missing")))
    if len(problems) > before or started is None or stopped is None or energy is None:
        return None
    return _Row(line, started, stopped, energy, uid)


__all__ = [
    "DeviceNotFound",
    "ImportProblem",
    "ImportRejected",
    "ImportResult",
    "LicenceNotFound",
    "LicenceProblem",
    "LicenceService",
]
