"""Prepaid contracts (``domain.billing.prepaid``): top-ups booked by the operator, sessions
drawing from the balance as they are priced, and the holder told when the credit runs out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from voltflow.domain.access import Actor
from voltflow.domain.access import Permission as P
from voltflow.domain.billing.ledger import Journal
from voltflow.domain.billing.prepaid import (
    Movement,
    MovementKind,
    PrepaidError,
    draw,
    out_of_credit,
    top_up,
)
from voltflow.domain.billing.settlement import top_up_journal
from voltflow.domain.mail import OutOfCredit
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.session_prices import Party, PriceLine
from voltflow.i18n import _
from voltflow.services.access import require
from voltflow.services.mail import MailService
from voltflow.services.ports import Clock, UnitOfWork
from voltflow.services.units import use_case
from voltflow.store.organisations import ContractRepository, OrganisationRepository
from voltflow.store.prepaid import MovementRow, PrepaidRepository


class ContractNotFound(LookupError):
    def __init__(self, contract_id: int) -> None:
        super().__init__(f"contract {contract_id}")
        self.contract_id = contract_id


def _said(exc: PrepaidError, currency: str) -> PrepaidError:
    """The domain's refusal in the language of the moment."""
    messages = {
        "currency": _("currency: the balance is kept in %(currency)s") % {"currency": currency},
        "positive": _("amount: more than zero"),
        "decimals": _("amount: at most two decimals"),
        "too_large": _("amount: at most 10,000 at a time"),
        "required": _("reference: required (the payment's reference)"),
    }
    return PrepaidError(messages.get(exc.reason, str(exc)), exc.field, exc.reason)


@dataclass(frozen=True, slots=True)
class TopUpResult:
    movement: Movement
    booked: bool  # False: a top-up with this reference was booked before; nothing added


class JournalWriter(Protocol):
    """Where a top-up's booking goes (the billing ledger)."""

    async def add_journal(
        self, journal: Journal, document_id: int | None, now: datetime
    ) -> None: ...


class PrepaidService:
    def __init__(
        self,
        repo: PrepaidRepository,
        contracts: ContractRepository,
        organisations: OrganisationRepository,
        clock: Clock,
        *,
        uow: UnitOfWork,
        mail: MailService | None = None,
        timezone: str = "Europe/Brussels",
        ledger: JournalWriter | None = None,
    ) -> None:
        self.ledger = ledger
        self.repo = repo
        self.contracts = contracts
        self.organisations = organisations
        self.clock = clock
        self.uow = uow
        self.mail = mail
        self.zone = ZoneInfo(timezone)

    async def _contract(
        self, actor: Actor, contract_id: int, permission: P, *, prepaid_only: bool = True
    ) -> int:
        contract = await self.contracts.get(contract_id)
        require(
            actor,
            permission,
            contract.organisation_id if contract else None,
            missing=lambda: ContractNotFound(contract_id),
            exists=contract is not None,
        )
        assert contract is not None
        if prepaid_only and not contract.prepaid:
            raise PrepaidError(
                _("contract %(id)s is not prepaid") % {"id": contract_id}, "contract", "postpaid"
            )
        return contract.organisation_id

    @use_case
    async def top_up(
        self, actor: Actor, contract_id: int, amount: Decimal, currency: str, reference: str
    ) -> TopUpResult:
        """Books money received for the contract's balance. A reference booked before books
        nothing again (a bank statement imported twice, a form sent twice)."""
        await self._contract(actor, contract_id, P.CONTRACTS_WRITE)
        contract = await self.repo.lock(contract_id)
        assert contract is not None
        try:
            movement = top_up(contract.balance, contract.currency, amount, currency, reference)
        except PrepaidError as exc:
            raise _said(exc, contract.currency) from exc
        if await self.repo.booked(contract_id, MovementKind.TOP_UP, movement.reference):
            same = Movement(
                MovementKind.TOP_UP,
                movement.amount,
                movement.currency,
                contract.balance,
                movement.reference,
            )
            return TopUpResult(same, booked=False)
        now = self.clock.now()
        movement_id = await self.repo.book(contract_id, movement, now, actor.user_id)
        if self.ledger is not None:
            # The money is in the bank, owed to the customer in charging (a liability).
            journal = top_up_journal(
                f"top-up/{movement_id}",
                now.astimezone(self.zone).date(),
                movement.currency,
                contract.organisation_id,
                movement.amount,
            )
            await self.ledger.add_journal(journal, None, now)
        return TopUpResult(movement, booked=True)

    async def movements(
        self, actor: Actor, contract_id: int, page: PageRequest
    ) -> Page[MovementRow]:
        # A postpaid contract has none: an empty list, not a refusal.
        await self._contract(actor, contract_id, P.CONTRACTS_READ, prepaid_only=False)
        return await self.repo.movements(contract_id, page)

    async def draw_for(self, priced: Mapping[int, Sequence[PriceLine]]) -> list[Movement]:
        """Each priced session on a prepaid contract draws its driver's price (incl. VAT) from
        the balance, or the difference with what it drew before; inside the caller's unit of
        work (the pricing consumer's), so that a price and its draw commit together. A
        balance that runs out has the contract's drivers told."""
        made: list[Movement] = []
        for on in await self.repo.sessions_on_prepaid(sorted(priced), self.zone):
            lines = priced[on.session_id]
            price = sum((line.incl_vat for line in lines if line.party is Party.DRIVER), Decimal(0))
            contract = await self.repo.lock(on.contract_id)
            if contract is None:
                continue
            drawn, last_price = await self.repo.session_draws(on.contract_id, on.session_id)
            movement = draw(
                contract.balance, contract.currency, price, last_price, drawn, on.session_id
            )
            if movement is None:
                continue
            await self.repo.book(on.contract_id, movement, self.clock.now())
            made.append(movement)
            if not out_of_credit(contract.balance) and out_of_credit(movement.balance):
                await self._tell_out_of_credit(contract.organisation_id, movement)
        return made

    async def _tell_out_of_credit(self, organisation_id: int, movement: Movement) -> None:
        if self.mail is None:
            return
        organisation = await self.organisations.get(organisation_id)
        name = organisation.name if organisation is not None else str(organisation_id)
        notice = OutOfCredit(name, movement.balance, movement.currency, self.clock.now())
        for driver_id in await self.repo.drivers_of(organisation_id):
            await self.mail.to_person(notice, driver_id, organisation_id=organisation_id)
