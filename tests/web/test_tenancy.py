"""Tenancy: every API route and every console page, called by a person of another organisation,
refuses, or shows nothing of the first organisation's, on both databases.

The calls are generated from the application's route table. Path parameters come from
``PATH_EXAMPLES`` and request bodies from ``BODY_EXAMPLES``, both naming organisation A's things; a
route with a parameter or a body these tables do not know fails the test until it gets an example,
so a new route cannot escape the check. The skip list, ``NOT_CHECKED``, stays tiny on purpose.

Organisation A (a company) has a station it owns with finished sessions, cards (handed to it, two
assigned to its drivers and active, one not), an eMSP contract, a station group, a whitelist for its
station, and people; its installer (an installer organisation of A's name) has a commissioning
job at A's station under way, with an answered checklist item and a photo. Organisation B (another
company) has its own station and cards, a fleet manager and a driver, and its own installer
organisation with a job at B's station; B's fleet manager, B's driver and B's installer each make
every call, through an API key and through a console login, and so does the installer of a third
installer organisation D, which looks after none of A's stations. A's installer also looks after
A's station, which has a service ticket.

A call that names A's thing (in its path or body) must be refused: 403 or 404. A collection may
answer 200, but nothing in it may be A's: no A identifier in the raw response text that the request
did not itself contain, no A organisation or person id in a JSON field, and, asked about A's thing
by a query parameter, nothing at all. The operator's same reads then succeed and show A's things, so
the refusals are about whose things they are; and A's drivers see only their own cards and sessions.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import fastapi.routing
import httpx
import pytest
import websockets
from fastapi import FastAPI
from fastapi.routing import APIRoute
from websockets.typing import Subprotocol

from tests import factories
from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor, OrganisationKind, Role
from voltflow.domain.billing.runs import BillingPeriod
from voltflow.domain.cards import CardAction
from voltflow.domain.contracts import ContractKind
from voltflow.domain.emaid import parse_emaid
from voltflow.domain.installations.attachments import AttachmentKind
from voltflow.domain.installations.checklists import AnswerInput
from voltflow.domain.installations.jobs import JobKind, JobStep
from voltflow.domain.licences import DeviceKind, FixedRate
from voltflow.domain.mail import Invitation
from voltflow.domain.monitoring import TicketFilter
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import CardFilter
from voltflow.services.lists import ListKind
from voltflow.simulator import SimulatedStation, StationConfig
from voltflow.web import create_app

# Neither API routes nor console pages about anyone's things: logging in and out, one's own
# account (sessions, password, language and time zone), the language switch, static files, the
# health probes and the API's own documentation; one's own background exports (found only by
# the person who started them: tests/web/test_exports.py; the rows they hold are those of
# ``GET /sessions/export``, checked here), and so is the progress of one's own billing run (the run
# is the operator's alone: ``POST /billing/runs``, checked here; tests/web/test_console_billing.py).
# Keep this list short.
NOT_CHECKED = frozenset(
    {
        "/login",
        "/logout",
        "/account",
        "/account/password",
        "/account/preferences",
        "/language",
        "/exports/sessions",
        "/exports/{job_id}",
        "/exports/{job_id}/file",
        "/billing/runs/{task_id}",
        "/static",
        "/api/v1/health",
        "/api/v1/health/live",
        "/api/v1/health/ready",
        "/api/v1/openapi.json",
        "/api/docs",
        "/docs/oauth2-redirect",
    }
)

STATION_PASSWORD = "alpha-station-key-01"
A_NAME = "Alphaworks"  # organisation A; its people, group, list and station vendor carry it too
B_NAME = "Betatech"
A_STATION = "CP-A7731"
B_STATION = "CP-B0042"
A_UIDS = ["A1FA0001", "A1FA0002", "A1FA0003"]
B_UIDS = ["B0B00001", "B0B00002"]
A_IBAN = "BE68539007547034"
STOCK_UID = "5700C001"  # a card in stock, which A's whitelist invites (no holder answers yet)
A_DEVICE = "NRG-A7731"  # the charging cable at A's employee's home, under a licence
D_NAME = "Deltafix"  # another installer organisation
A_VAT = "BE0477123402"  # so that its invoice is an e-invoice too


@dataclass
class Alpha:
    """Organisation A's things, and what they look like in a response."""

    org_id: int
    manager: Actor
    drivers: list[Actor]
    station_id: str
    uids: list[str]  # driver 0's card, driver 1's card (both active), one not assigned
    contract_ids: list[str]  # the cards' eMAIDs as the API shows them
    session_ids: list[int]  # driver 0's session, driver 1's session
    device_session_id: int  # driver 0's session at the cable at home, imported
    contract_id: int
    group_id: int
    list_id: int
    licence_id: int
    mail_id: int  # a mail about A (only operators read mails)
    installer_org_id: int  # A's installer
    installer: Actor  # its technician, who also looks after A's station
    job_id: int  # a commissioning at A's station, under way
    attachment_id: int  # the job's photo
    ticket_id: int  # a service ticket of A's station
    invoice: str = ""  # its November invoice's number
    sepa_file_id: int = 0  # the direct debit that collects it (only operators read SEPA files)

    @property
    def people(self) -> set[int]:
        return {self.manager.user_id, *(d.user_id for d in self.drivers)}

    @property
    def markers(self) -> list[str]:
        """Texts only A's things contain (the name is in its people's usernames too)."""
        compact = [c.replace("-", "") for c in self.contract_ids]
        printed = [f"PN-A-{i:04d}" for i in range(1, len(self.uids) + 1)]
        return [
            A_NAME,
            self.station_id,
            A_IBAN,
            A_DEVICE,
            *self.uids,
            *self.contract_ids,
            *compact,
            *printed,
            self.invoice,
        ]


# -- the tables: one example per path parameter name, one body per (method, path) ------------------

PATH_EXAMPLES: dict[str, Callable[[Alpha], str]] = {
    "station_id": lambda a: a.station_id,
    "session_id": lambda a: str(a.session_ids[0]),
    "uid": lambda a: a.uids[0],
    "organisation_id": lambda a: str(a.org_id),
    "user_id": lambda a: str(a.drivers[0].user_id),
    "role": lambda a: "driver",
    "list_id": lambda a: str(a.list_id),
    "group_id": lambda a: str(a.group_id),
    "action": lambda a: "Reset",
    "licence_id": lambda a: str(a.licence_id),
    "device_id": lambda a: A_DEVICE,
    "device_session_id": lambda a: str(a.device_session_id),
    "mail_id": lambda a: str(a.mail_id),
    "contract_id": lambda a: str(a.contract_id),
    "job_id": lambda a: str(a.job_id),
    "attachment_id": lambda a: str(a.attachment_id),
    "item_key": lambda a: "housing",
    "template_key": lambda a: "commissioning",
    "ticket_id": lambda a: str(a.ticket_id),
    "number": lambda a: a.invoice,
    "file_id": lambda a: str(a.sepa_file_id),
}

# Query parameters that can name A's things: collection routes that take one are also called with
# it, one at a time, and must then show nothing at all.
QUERY_EXAMPLES: dict[str, Callable[[Alpha], str]] = {
    "station_id": lambda a: a.station_id,
    "organisation_id": lambda a: str(a.org_id),
    "id_tag": lambda a: a.uids[0],
}


@dataclass(frozen=True)
class Body:
    """One request body: JSON, raw content, a form (console), or a form with files."""

    json: Any = None
    content: str | None = None
    content_type: str | None = None
    form: dict[str, str | list[str]] | None = None
    files: dict[str, tuple[str, str, str]] | None = None  # field: (file name, content, type)

    def text(self) -> str:
        return json.dumps([self.json, self.content, self.form, self.files])


def _statement(a: Alpha) -> str:
    """A bank statement paying A's invoice."""
    from tests.banking.statements import Credit, camt053

    return camt053([Credit("TENANCY-1", Decimal("1.00"), free_text=a.invoice)]).decode()


def _template_document() -> dict[str, Any]:
    """The shipped commissioning checklist, as an edit sends it."""
    text = (
        resources.files("voltflow.domain.installations")
        .joinpath("templates", "commissioning.json")
        .read_text()
    )
    document: dict[str, Any] = json.loads(text)
    document.pop("key")
    return document


PLANNED_SITE = {"street": "Rue Haute 1", "postcode": "1000", "city": "Bruxelles", "model": "T1"}


def _card_actions(a: Alpha) -> list[Body]:
    """Every card action on A's cards; the extra fields point at A as well."""
    return [
        Body(
            json={
                "action": action.value,
                "uids": [a.uids[0]] if action is CardAction.ASSIGN else a.uids,
                "organisation_id": a.org_id,
                "driver_id": a.drivers[1].user_id,
                "reason": "tenancy",
            }
        )
        for action in CardAction
    ]


def _card_action_forms(a: Alpha, *, bulk: bool) -> list[Body]:
    """The console's card steps, on many cards (``bulk``) or on the one in the path."""
    forms: list[Body] = []
    for action in CardAction:
        form: dict[str, str | list[str]] = {
            "action": action.value,
            "organisation_id": str(a.org_id),
            "driver_id": str(a.drivers[1].user_id),
            "reason": "tenancy",
        }
        if bulk:
            form["uids"] = list(a.uids)
        forms.append(Body(form=form))
    return forms


BODY_EXAMPLES: dict[tuple[str, str], Callable[[Alpha], list[Body]]] = {
    # API
    ("POST", "/api/v1/stations"): lambda a: [
        Body(json={"id": a.station_id, "password": "another-password"})
    ],
    ("PATCH", "/api/v1/stations/{station_id}"): lambda a: [
        Body(json={"lenient": True, "password": "taken-over-key-0001"})
    ],
    ("POST", "/api/v1/stations/{station_id}/commands/{action}"): lambda a: [
        Body(json={"payload": {"type": "Hard"}})
    ],
    ("POST", "/api/v1/tokens"): lambda a: [Body(json={"uid": a.uids[0]})],
    ("POST", "/api/v1/organisations"): lambda a: [Body(json={"name": A_NAME, "kind": "company"})],
    ("POST", "/api/v1/sessions/{session_id}/corrections"): lambda a: [
        Body(json={"reason": "meter replaced", "meter_stop_wh": 99_999_999})
    ],
    ("PUT", "/api/v1/stations/{station_id}/prices"): lambda a: [
        Body(json={"tariff_id": None, "host": a.manager.username, "host_tariff_id": None})
    ],
    ("POST", "/api/v1/price-estimates"): lambda a: [
        Body(json={"station_id": a.station_id, "card": a.uids[0], "kwh": 10, "minutes": 30})
    ],
    ("PATCH", "/api/v1/organisations/{organisation_id}"): lambda a: [
        Body(json={"document_language": "fr"})
    ],
    ("PATCH", "/api/v1/organisations/{organisation_id}/people/{user_id}"): lambda a: [
        Body(json={"iban": "BE62510007547061"})
    ],
    ("POST", "/api/v1/billing/runs"): lambda a: [
        Body(json={"period": "2026-11", "organisation_id": a.org_id}),
        Body(json={"period": "2026-11", "organisation_id": a.org_id, "finalise": True}),
    ],
    ("POST", "/api/v1/organisations/{organisation_id}/people"): lambda a: [
        Body(json={"username": "intruder", "role": "fleet_manager", "password": "intruder-pw"}),
        Body(json={"username": a.manager.username, "role": "driver"}),
    ],
    ("POST", "/api/v1/organisations/{organisation_id}/contracts"): lambda a: [
        Body(json={"kind": "emsp", "starts_on": "2026-01-01"})
    ],
    ("POST", "/api/v1/billing/documents/{number}/payments"): lambda a: [
        Body(json={"amount": "1.00", "reference": "TENANCY-1"})
    ],
    ("POST", "/api/v1/billing/statements"): lambda a: [
        Body(content=_statement(a), content_type="application/xml")
    ],
    ("POST", "/api/v1/billing/sepa-files"): lambda a: [Body(json={"period": "2026-11"})],
    ("POST", "/api/v1/contracts/{contract_id}/top-ups"): lambda a: [
        Body(json={"amount": "50.00", "reference": "TOP-UP-1"})
    ],
    ("POST", "/api/v1/cards/import"): lambda a: [
        Body(content=f"uid,printed_number\n{a.uids[0]},PN-X-0001\n", content_type="text/csv")
    ],
    ("POST", "/api/v1/cards/actions"): _card_actions,
    ("POST", "/api/v1/station-groups"): lambda a: [
        Body(json={"organisation_id": a.org_id, "name": "Taken", "station_ids": [a.station_id]})
    ],
    ("PUT", "/api/v1/station-groups/{group_id}/stations"): lambda a: [
        Body(json={"station_ids": []})
    ],
    ("POST", "/api/v1/lists"): lambda a: [
        Body(
            json={
                "organisation_id": a.org_id,
                "kind": "whitelist",
                "name": "Taken",
                "station_id": a.station_id,
            }
        )
    ],
    ("POST", "/api/v1/lists/{list_id}/cards"): lambda a: [Body(json={"uids": [a.uids[2]]})],
    ("POST", "/api/v1/tickets/{ticket_id}/acknowledge"): lambda a: [Body(json={"note": "mine"})],
    ("POST", "/api/v1/tickets/{ticket_id}/close"): lambda a: [Body(json={"note": "done"})],
    ("PUT", "/api/v1/stations/{station_id}/installer"): lambda a: [
        Body(json={"organisation_id": None})
    ],
    ("POST", "/api/v1/devices/{device_id}/sessions"): lambda a: [
        Body(
            content="started_at,stopped_at,energy_wh,card_uid\n"
            f"2026-11-02T10:00:00+01:00,2026-11-02T11:00:00+01:00,5000,{a.uids[0]}\n",
            content_type="text/csv",
        ),
        Body(
            content=json.dumps(
                [
                    {
                        "started_at": "2026-11-03T10:00:00+01:00",
                        "stopped_at": "2026-11-03T11:00:00+01:00",
                        "kwh": "5",
                        "card_uid": a.uids[0],
                    }
                ]
            ),
            content_type="application/json",
        ),
    ],
    ("POST", "/api/v1/jobs"): lambda a: [
        Body(json={"kind": "inspection", "station_id": a.station_id}),
        Body(json={"kind": "installation", "organisation_id": a.org_id, "site": PLANNED_SITE}),
        Body(
            json={
                "kind": "repair",
                "station_id": a.station_id,
                "installer_organisation_id": a.installer_org_id,
                "technician_id": a.installer.user_id,
            }
        ),
    ],
    ("POST", "/api/v1/jobs/{job_id}/steps"): lambda a: [
        Body(json={"step": "fail", "reason": "tenancy"}),
        Body(json={"step": "finish"}),
    ],
    ("PUT", "/api/v1/jobs/{job_id}/assignment"): lambda a: [
        Body(
            json={
                "installer_organisation_id": a.installer_org_id,
                "technician_id": a.installer.user_id,
            }
        )
    ],
    ("PUT", "/api/v1/jobs/{job_id}/station"): lambda a: [Body(json={"station_id": a.station_id})],
    ("POST", "/api/v1/jobs/{job_id}/items/{item_key}/answers"): lambda a: [
        Body(json={"passed": False, "correction_reason": "tenancy"})
    ],
    ("POST", "/api/v1/jobs/{job_id}/items/{item_key}/waiver"): lambda a: [
        Body(json={"reason": "tenancy"})
    ],
    ("POST", "/api/v1/jobs/{job_id}/attachments"): lambda a: [
        Body(form={"kind": "photo"}, files={"file": ("x.png", "not an image", "image/png")})
    ],
    ("PUT", "/api/v1/checklist-templates/{template_key}"): lambda a: [
        Body(json=_template_document())
    ],
    # console
    ("POST", "/stations"): lambda a: [
        Body(form={"station_id": a.station_id, "password": "another-password"})
    ],
    ("POST", "/stations/{station_id}/commands"): lambda a: [
        Body(form={"action": "Reset", "payload": '{"type": "Hard"}'})
    ],
    ("POST", "/stations/{station_id}/owner"): lambda a: [Body(form={"organisation_id": ""})],
    ("POST", "/stations/{station_id}/prices"): lambda a: [
        Body(form={"tariff_id": "", "host": a.manager.username, "host_tariff_id": ""})
    ],
    ("POST", "/customers"): lambda a: [Body(form={"name": A_NAME, "kind": "company"})],
    ("POST", "/customers/{organisation_id}/people"): lambda a: [
        Body(form={"username": "intruder", "role": "fleet_manager"}),
        Body(form={"username": a.manager.username, "role": "driver"}),
    ],
    ("POST", "/customers/{organisation_id}/contracts"): lambda a: [
        Body(form={"kind": "emsp", "starts_on": "2026-01-01"})
    ],
    ("POST", "/customers/{organisation_id}/contracts/{contract_id}/top-ups"): lambda a: [
        Body(form={"amount": "50.00", "reference": "TOP-UP-1"})
    ],
    ("POST", "/customers/{organisation_id}/document-language"): lambda a: [
        Body(form={"document_language": "nl"})
    ],
    ("POST", "/cards/import"): lambda a: [
        Body(
            files={
                "file": ("cards.csv", f"uid,printed_number\n{a.uids[0]},PN-X-0001\n", "text/csv")
            }
        )
    ],
    ("POST", "/cards/actions"): lambda a: _card_action_forms(a, bulk=True),
    ("POST", "/cards/{uid}/actions"): lambda a: _card_action_forms(a, bulk=False),
    ("POST", "/lists"): lambda a: [
        Body(form={"kind": "whitelist", "name": "Taken", "target": f"station:{a.station_id}"}),
        Body(form={"kind": "whitelist", "name": "Taken", "target": f"group:{a.group_id}"}),
    ],
    ("POST", "/station-groups"): lambda a: [
        Body(
            form={"organisation_id": str(a.org_id), "name": "Taken", "station_ids": [a.station_id]}
        )
    ],
    ("POST", "/lists/{list_id}/cards"): lambda a: [Body(form={"card": a.uids[2]})],
    ("POST", "/licences"): lambda a: [
        Body(
            form={
                "employer_id": str(a.org_id),
                "device": A_DEVICE,
                "device_kind": "cable",
                "cards": a.uids[1],
                "rate_kind": "fixed",
                "rate": "0.30",
            }
        ),
        Body(
            form={
                "employer_id": str(a.org_id),
                "device": a.station_id,
                "cards": a.uids[1],
                "rate_kind": "creg",
                "region": "flanders",
            }
        ),
    ],
    ("POST", "/licences/{licence_id}/rate"): lambda a: [
        Body(form={"rate_kind": "fixed", "rate": "0.99", "effective": "2099-01-01"})
    ],
    ("POST", "/billing/runs"): lambda a: [
        Body(form={"period": "2026-11", "organisation_id": str(a.org_id), "confirm": "yes"})
    ],
    ("POST", "/billing/documents/{number}/credit"): lambda a: [
        Body(form={"scope": "all", "reason": "tenancy"}),
        Body(form={"scope": "lines", "lines": ["1"], "reason": "tenancy"}),
    ],
}

# Collection routes that show nothing of anyone's, even to an operator (so that A's absence proves
# nothing there). Empty today.
COLLECTIONS_WITHOUT_THINGS: frozenset[tuple[str, str]] = frozenset(
    # A person's own sessions: the operator holds no card.
    {
        ("GET", "/my/sessions"),
        ("GET", "/api/v1/activity/mine"),
        # Checklist templates belong to the platform, not to a customer.
        ("GET", "/api/v1/checklist-templates"),
        # The platform's own money: its SEPA files (by message id), the payouts it owes (A owes
        # and is owed none), documents overdue (A's is not due yet), the ledger's checks.
        ("GET", "/api/v1/billing/sepa-files"),
        ("GET", "/api/v1/billing/payouts"),
        ("GET", "/api/v1/billing/overdue"),
        ("GET", "/api/v1/billing/checks"),
        # The statements that pay a person: the operator is paid by none.
        ("GET", "/my/statements"),
        # A month's figures name nobody (its documents are on /billing/documents).
        ("GET", "/billing/reconciliation"),
    }
)

# Writes the operator repeats after the refusals, with the status that means "done": proof that the
# bodies and parameters above are right, not just refused for being wrong.
OPERATOR_WRITES: dict[tuple[str, str], int] = {
    ("POST", "/api/v1/stations/{station_id}/local-list/sync"): 200,
    ("POST", "/api/v1/lists/{list_id}/cards"): 200,
    ("PUT", "/api/v1/station-groups/{group_id}/stations"): 200,
    ("POST", "/api/v1/stations/{station_id}/claim"): 200,
    ("POST", "/stations/{station_id}/commands"): 200,
    ("PUT", "/api/v1/stations/{station_id}/prices"): 200,
    ("POST", "/stations/{station_id}/prices"): 303,
    ("POST", "/customers/{organisation_id}/contracts"): 303,
    ("POST", "/lists/{list_id}/cards"): 303,
    ("POST", "/lists/{list_id}/sync"): 303,
    # The job's item corrected (failed), then waived; a new version of the checklist.
    ("POST", "/api/v1/jobs/{job_id}/items/{item_key}/answers"): 200,
    ("POST", "/api/v1/jobs/{job_id}/items/{item_key}/waiver"): 200,
    ("PUT", "/api/v1/checklist-templates/{template_key}"): 200,
    ("POST", "/api/v1/tickets/{ticket_id}/acknowledge"): 200,
}

PARAM = re.compile(r"{(\w+)(?::\w+)?}")


# -- the route table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    params: tuple[str, ...]
    query: tuple[str, ...]
    takes_body: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    @property
    def console(self) -> bool:
        return not self.path.startswith("/api/")


def _route_contexts(app: FastAPI) -> list[Any]:
    """Every endpoint, including those of included routers (which FastAPI ≥ 0.137 keeps nested)."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    return list(flatten(app.routes)) if flatten is not None else list(app.routes)


def _query_aliases(dependant: Any) -> list[str]:
    names = [q.alias for q in dependant.query_params]
    for sub in dependant.dependencies:
        names += _query_aliases(sub)
    return names


def route_table(app: FastAPI) -> tuple[list[RouteInfo], list[str]]:
    """The routes to check, and what is wrong with the tables for them."""
    routes: list[RouteInfo] = []
    problems: list[str] = []
    for ctx in _route_contexts(app):
        path = getattr(ctx, "path", None)
        if path in NOT_CHECKED:
            continue
        original = getattr(ctx, "original_route", ctx)
        if not isinstance(original, APIRoute):
            problems.append(
                f"{path or original!r}: a {type(original).__name__}, neither an API route nor a"
                " console page: make it one, or (if it serves nobody's data) add it to NOT_CHECKED"
                " in tests/web/test_tenancy.py"
            )
            continue
        assert path is not None
        params = tuple(PARAM.findall(path))
        takes_body = ctx.body_field is not None or bool(
            (ctx.openapi_extra or {}).get("requestBody")
        )
        for name in params:
            if name not in PATH_EXAMPLES:
                problems.append(
                    f"{path}: no example for the path parameter {name!r}: add one to PATH_EXAMPLES"
                    " in tests/web/test_tenancy.py (a value naming organisation A's thing)"
                )
        for method in sorted(set(ctx.methods or ()) - {"HEAD", "OPTIONS"}):
            info = RouteInfo(method, path, params, tuple(_query_aliases(ctx.dependant)), takes_body)
            if takes_body and info.key not in BODY_EXAMPLES:
                problems.append(
                    f"{method} {path} takes a body: add an example to BODY_EXAMPLES in"
                    " tests/web/test_tenancy.py (a valid body that targets organisation A's things)"
                )
            routes.append(info)
    known = {r.key for r in routes}
    for table, keys in (
        ("BODY_EXAMPLES", BODY_EXAMPLES),
        ("OPERATOR_WRITES", OPERATOR_WRITES),
        ("COLLECTIONS_WITHOUT_THINGS", COLLECTIONS_WITHOUT_THINGS),
    ):
        for key in keys:
            if key not in known:
                problems.append(f"{table} names {key}, which is no route any more: remove it")
    return routes, problems


@dataclass(frozen=True)
class Call:
    route: RouteInfo
    url: str
    body: Body | None = None
    query_variant: bool = False  # a collection asked about A's thing by a query parameter

    @property
    def targeted(self) -> bool:
        """Names A's thing in its path or its body: must be refused."""
        return bool(self.route.params) or self.body is not None

    def describe(self) -> str:
        body = f" {self.body.text()}" if self.body is not None else ""
        return f"{self.route.method} {self.url}{body}"


def calls_for(routes: list[RouteInfo], alpha: Alpha) -> list[Call]:
    calls = []
    for route in routes:
        url = PARAM.sub(lambda m: PATH_EXAMPLES[m.group(1)](alpha), route.path)
        bodies: list[Body | None] = (
            list(BODY_EXAMPLES[route.key](alpha)) if route.takes_body else [None]
        )
        calls += [Call(route, url, body) for body in bodies]
        if route.method == "GET" and not route.params:
            for name in route.query:
                if name in QUERY_EXAMPLES:
                    query = urlencode({name: QUERY_EXAMPLES[name](alpha)})
                    calls.append(Call(route, f"{url}?{query}", query_variant=True))
    return calls


# -- clients ---------------------------------------------------------------------------------------

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRF-Token": "([^"]+)"')


@dataclass
class Person:
    """Someone calling: an API client with their key, a console client with their session."""

    name: str
    api: httpx.AsyncClient
    console: httpx.AsyncClient
    csrf: str = ""

    async def send(self, call: Call) -> httpx.Response:
        client = self.console if call.route.console else self.api
        headers: dict[str, str] = {}
        kwargs: dict[str, Any] = {}
        if call.route.console and call.route.method != "GET":
            headers["X-CSRF-Token"] = self.csrf
        body = call.body
        if body is not None:
            if body.json is not None:
                kwargs["json"] = body.json
            elif body.content is not None:
                kwargs["content"] = body.content
                headers["content-type"] = body.content_type or "text/plain"
            elif body.form is not None or body.files is not None:
                kwargs["data"] = {**(body.form or {}), "csrf_token": self.csrf}
                if body.files is not None:
                    kwargs["files"] = {
                        name: (file_name, text.encode(), kind)
                        for name, (file_name, text, kind) in body.files.items()
                    }
        return await client.request(call.route.method, call.url, headers=headers, **kwargs)


async def _login(client: httpx.AsyncClient, username: str, password: str) -> str:
    """Log in through the form; the CSRF token of the logged-in session."""
    page = await client.get("/login")
    found = CSRF_INPUT.search(page.text)
    assert found, page.text
    answer = await client.post(
        "/login", data={"username": username, "password": password, "csrf_token": found.group(1)}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/stations"
    home = await client.get("/stations")
    assert home.status_code == 200, home.text
    token = CSRF_HEADER.search(home.text)
    assert token, home.text
    return token.group(1)


# -- organisation A and B --------------------------------------------------------------------------

_ids = itertools.count(1)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def _charge(platform: Platform, station_id: str, uids: list[str]) -> list[int]:
    """One finished session per card at the station, reported over a real OCPP socket."""
    auth = base64.b64encode(f"{station_id}:{STATION_PASSWORD}".encode()).decode()
    async with websockets.connect(
        f"ws://127.0.0.1:{platform.ocpp.port}/ocpp/{station_id}",
        subprotocols=[Subprotocol("ocpp1.6")],
        additional_headers={"Authorization": f"Basic {auth}"},
    ) as ws:

        async def call(action: str, payload: dict[str, Any]) -> dict[str, Any]:
            message_id = f"t{next(_ids)}"
            await ws.send(json.dumps([2, message_id, action, payload]))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer[:2] == [3, message_id], answer
            result: dict[str, Any] = answer[2]
            return result

        await call("BootNotification", {"chargePointVendor": A_NAME, "chargePointModel": "T1"})
        await call(
            "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
        )
        sessions = []
        start = datetime.now(UTC) - timedelta(hours=3)
        for i, uid in enumerate(uids):
            begin = start + timedelta(hours=i)
            meter = 10_000 * (i + 1)
            started = await call(
                "StartTransaction",
                {"connectorId": 1, "idTag": uid, "meterStart": meter, "timestamp": _iso(begin)},
            )
            transaction_id = int(started["transactionId"])
            await call(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": transaction_id,
                    "meterValue": [
                        {
                            "timestamp": _iso(begin + timedelta(minutes=10)),
                            "sampledValue": [{"value": str(meter + 1500), "unit": "Wh"}],
                        }
                    ],
                },
            )
            await call(
                "StopTransaction",
                {
                    "transactionId": transaction_id,
                    "meterStop": meter + 4200,
                    "timestamp": _iso(begin + timedelta(minutes=40)),
                    "idTag": uid,
                    "reason": "EVDisconnected",
                },
            )
            sessions.append(transaction_id)
    async with asyncio.timeout(5):
        while platform.commands.is_connected(station_id):  # noqa: ASYNC110 - the server's state
            await asyncio.sleep(0.01)
    return sessions


def _stock(uids: list[str], prefix: str) -> str:
    rows = [f"{uid},PN-{prefix}-{i:04d}" for i, uid in enumerate(uids, start=1)]
    return "uid,printed_number\n" + "\n".join(rows) + "\n"


async def _alpha(platform: Platform, op: Actor) -> Alpha:
    org = await factories.company(platform, op, A_NAME, drivers=2)
    fm = org.manager
    await platform.organisations.update(op, org.id, {"vat_number": A_VAT})
    await platform.stations.add(A_STATION, STATION_PASSWORD, actor=op)
    await platform.stations.set_owner(op, A_STATION, org.id)
    contract = await platform.contracts.create(
        op,
        org.id,
        ContractKind.EMSP,
        starts_on=date(2026, 1, 1),
        fee_per_licence=Decimal("2.50"),
        mandate_reference=f"{A_NAME.upper()}-2026",
        mandate_iban=A_IBAN,
        mandate_bic="GKCCBEBB",
        mandate_signed_on=date(2025, 12, 15),
    )
    uids = await platform.cards.import_csv(op, _stock(A_UIDS, "A"))
    await platform.cards.distribute(op, uids, org.id)
    for uid, driver in zip(uids, org.drivers, strict=False):
        await platform.cards.assign(fm, uid, driver.user_id)
    await platform.cards.activate(fm, uids[:2])
    sessions = await _charge(platform, A_STATION, uids[:2])
    group = await platform.lists.create_group(fm, org.id, f"{A_NAME} depot", [A_STATION])
    whitelist = await platform.lists.create_list(
        fm, org.id, ListKind.WHITELIST, f"{A_NAME} guests", station_id=A_STATION
    )
    await platform.lists.add_cards(fm, whitelist.id, [uids[0]])
    await platform.cards.import_csv(op, f"uid,printed_number\n{STOCK_UID},PN-S-0001\n")
    invited = await platform.lists.add_cards(fm, whitelist.id, [STOCK_UID])
    assert invited.invited == [STOCK_UID]
    await platform.lists.wait_idle()
    licence = await platform.licences.add(
        fm,
        A_DEVICE,
        [uids[0]],
        FixedRate(Decimal("0.6654")),
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
        device_kind=DeviceKind.CABLE,
    )
    imported = await platform.licences.import_sessions(
        fm,
        A_DEVICE,
        "started_at,stopped_at,kwh,card_uid\n"
        f"2026-11-10T14:50:16+01:00,2026-11-10T15:05:18+01:00,3.667,{uids[0]}\n",
    )
    # November billed: an invoice of the licence's subscription.
    billed = await platform.billing.finalise(op, BillingPeriod.month(2026, 11), org.id)
    assert [d.recipient for d in billed.documents] == [A_NAME]
    # Collected under A's mandate.
    collected = await platform.payments.sepa(op, BillingPeriod.month(2026, 11))
    [direct_debit] = collected.files
    found = await platform.cards.search(op, CardFilter(q="A1FA"), PageRequest())
    shown = [str(c.contract_id) for c in found.items]
    assert len(shown) == len(uids)
    async with platform.uow():
        mail_id = await platform.mail.to_organisation(
            Invitation(A_NAME, "driver", f"{A_NAME.lower()}-driver0", "https://x.example/login"),
            org.id,
            f"billing@{A_NAME.lower()}.example",
        )
    installers = await factories.company(
        platform, op, f"{A_NAME} Installations", kind=OrganisationKind.INSTALLER
    )
    job_id, attachment_id = await _job(
        platform, op, fm, installers.manager, installers.id, A_STATION
    )
    await platform.tickets.set_station_installer(op, A_STATION, installers.id)
    await platform.events.firmware_status(A_STATION, "DownloadFailed")
    for _ in range(500):  # until the relay has delivered the station's event
        ticket = await platform.tickets.search(
            op, TicketFilter(station_id=A_STATION), PageRequest()
        )
        if ticket.items:
            break
        await asyncio.sleep(0.02)
    return Alpha(
        org_id=org.id,
        manager=fm,
        drivers=org.drivers,
        station_id=A_STATION,
        uids=uids,
        contract_ids=[str(parse_emaid(c)) for c in shown],
        session_ids=sessions,
        device_session_id=imported.added[0].id,
        contract_id=contract.id,
        group_id=group.id,
        list_id=whitelist.id,
        licence_id=licence.id,
        mail_id=mail_id,
        installer_org_id=installers.id,
        installer=installers.manager,
        job_id=job_id,
        attachment_id=attachment_id,
        ticket_id=ticket.items[0].id,
        invoice=billed.documents[0].document.number or "",
        sepa_file_id=direct_debit.id,
    )


async def _job(
    platform: Platform,
    op: Actor,
    customer: Actor,
    technician: Actor,
    installer_id: int,
    station_id: str,
) -> tuple[int, int]:
    """A commissioning asked for by the customer, given to the installer, under way: its first
    item answered and a photo taken."""
    jobs = platform.jobs
    view = await jobs.request(customer, JobKind.COMMISSIONING, station_id=station_id)
    job_id = view.job.id
    await jobs.assign(op, job_id, installer_id=installer_id, technician_id=technician.user_id)
    tomorrow = platform.clock.now() + timedelta(days=1)
    await jobs.step(technician, job_id, JobStep.SCHEDULE, planned_at=tomorrow)
    await jobs.step(technician, job_id, JobStep.START)
    await jobs.answer(technician, job_id, "housing", AnswerInput(passed=True))
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg=="
    )
    photo = await jobs.attach(technician, job_id, AttachmentKind.PHOTO, png, "station.png")
    return job_id, photo.id


async def _beta(platform: Platform, op: Actor) -> factories.Company:
    """B has things of its own, so that "nothing of A's" is not just "nothing at all"."""
    org = await factories.company(platform, op, B_NAME, drivers=1)
    await platform.stations.add(B_STATION, STATION_PASSWORD, actor=op)
    await platform.stations.set_owner(op, B_STATION, org.id)
    uids = await platform.cards.import_csv(op, _stock(B_UIDS, "B"))
    await platform.cards.distribute(op, uids, org.id)
    await platform.cards.assign(org.manager, uids[0], org.drivers[0].user_id)
    await platform.cards.activate(org.manager, uids[:1])
    await platform.lists.create_group(org.manager, org.id, f"{B_NAME} depot", [B_STATION])
    installers = await factories.company(
        platform, op, f"{B_NAME} Installations", kind=OrganisationKind.INSTALLER
    )
    await _job(platform, op, org.manager, installers.manager, installers.id, B_STATION)
    return org


@dataclass
class World:
    app: FastAPI
    alpha: Alpha
    beta_id: int
    operator: Person
    intruders: list[Person]  # B's fleet manager, B's driver, B's installer
    driver: Person  # A's driver 0
    manager: Person  # A's fleet manager
    stranger: Person  # D's installer, who looks after none of A's stations
    installer: Person  # C's installer, who looks after A's station
    clients: list[httpx.AsyncClient] = field(default_factory=list)


@pytest.fixture
async def world(platform: Platform) -> AsyncIterator[World]:
    op = await factories.operator(platform)
    alpha = await _alpha(platform, op)
    beta = await _beta(platform, op)
    delta = await factories.company(platform, op, D_NAME, kind=OrganisationKind.INSTALLER)
    app = create_app(platform)
    transport = httpx.ASGITransport(app=app)
    clients: list[httpx.AsyncClient] = []

    def client(key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        c = httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)
        clients.append(c)
        return c

    async def person(username: str, password: str) -> Person:
        key = await platform.accounts.create_api_key(username)
        console = client()
        return Person(username, client(key), console, await _login(console, username, password))

    try:
        yield World(
            app,
            alpha,
            beta.id,
            await person(op.username, "op-password"),
            [
                await person(beta.manager.username, "manager-pass"),
                await person(beta.drivers[0].username, "driver-pass"),
                await person(f"{B_NAME.lower()}installations-manager", "manager-pass"),
            ],
            await person(alpha.drivers[0].username, "driver-pass"),
            await person(alpha.manager.username, "manager-pass"),
            await person(delta.manager.username, "manager-pass"),
            await person(alpha.installer.username, "manager-pass"),
            clients,
        )
    finally:
        for c in clients:
            await c.aclose()


# -- checks ----------------------------------------------------------------------------------------


def _json(response: httpx.Response) -> Any:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def leaks(alpha: Alpha, call: Call, response: httpx.Response) -> list[str]:
    """A's identifiers in the response that the request did not itself name."""
    asked = (call.url + (call.body.text() if call.body else "")).lower()
    text = response.text.lower()
    found = [m for m in alpha.markers if m.lower() in text and m.lower() not in asked]
    numbers = {
        "organisation_id": {alpha.org_id},
        "driver_id": alpha.people,
        "user_id": alpha.people,
        "actor_id": alpha.people,
        "list_id": {alpha.list_id},
        "group_id": {alpha.group_id},
        "session_id": set(alpha.session_ids),
        "transaction_id": set(alpha.session_ids),
        "installer_organisation_id": {alpha.installer_org_id},
        "technician_id": {alpha.installer.user_id},
    }
    for item in _walk(_json(response)):
        for key, values in numbers.items():
            if item.get(key) in values and not isinstance(item.get(key), bool):
                found.append(f"{key}={item[key]}")
    return found


def check_refusal(alpha: Alpha, who: Person, call: Call, response: httpx.Response) -> list[str]:
    """What is wrong with ``who``'s answer to a call about A's things (empty: all is well)."""
    problems = []
    status = response.status_code
    location = response.headers.get("location", "")
    if location.startswith("/login"):
        problems.append(f"sent to the login page: {who.name} is not logged in")
    if call.route.console and "csrf" in response.text.lower() and status == 403:
        problems.append("refused for its CSRF token, not for whose thing it is")
    if call.targeted:
        if status not in (403, 404):
            problems.append(f"status {status}, expected 403 or 404")
    elif status not in (200, 303, 403):
        problems.append(f"status {status}, expected 200 without A's things, or 403")
    elif status == 303 and not location:
        problems.append("a redirect to nowhere")
    found = leaks(alpha, call, response)
    if found:
        problems.append(f"shows A's {', '.join(sorted(set(found)))}")
    body = _json(response)
    if call.query_variant and isinstance(body, dict) and body.get("total", 0) != 0:
        problems.append(f"counts A's things: total {body['total']}")
    shown = " ".join(response.text.split())[:300]
    return [f"{call.describe()} as {who.name}: {p}: {shown}" for p in problems]


async def test_another_organisation_reaches_nothing_of_ours(world: World) -> None:
    routes, problems = route_table(world.app)
    assert not problems, "\n".join(problems)
    keys = {r.key for r in routes}
    # The table is really the application's: a route enumeration gone quiet must not pass.
    assert ("GET", "/api/v1/stations/{station_id}") in keys
    assert ("GET", "/stations/{station_id}") in keys
    alpha = world.alpha
    calls = calls_for(routes, alpha)

    failures: list[str] = []
    intruders = [*world.intruders, world.stranger]
    for intruder in intruders:
        for call in calls:
            response = await intruder.send(call)
            failures += check_refusal(alpha, intruder, call, response)
    made = len(calls) * len(intruders)
    assert not failures, f"{len(failures)} of {made} calls went wrong:\n" + "\n".join(failures)

    # B's fleet manager does see B's own things: the filters are not simply empty.
    manager = world.intruders[0]
    for url, own in (
        ("/api/v1/stations", B_STATION),
        ("/api/v1/cards", B_UIDS[0]),
        ("/api/v1/organisations", B_NAME),
        ("/api/v1/station-groups", B_NAME),
    ):
        response = await manager.api.get(url)
        assert response.status_code == 200 and own in response.text, (url, response.text)
    response = await manager.console.get("/stations")
    assert response.status_code == 200 and B_STATION in response.text

    # The operator's same calls succeed: the refusals above are about whose things they are.
    for call in calls:
        if call.route.method == "GET":
            response = await world.operator.send(call)
            wanted = 303 if call.route.path == "/" else 200
            assert response.status_code == wanted, (call.describe(), response.text[:500])
            collection = not call.targeted and call.route.key not in COLLECTIONS_WITHOUT_THINGS
            if wanted == 200 and collection:
                text = response.text.lower()
                assert any(m.lower() in text for m in alpha.markers), (
                    f"{call.describe()} shows nothing of A's even to an operator: give A"
                    " something it shows, or add the route to COLLECTIONS_WITHOUT_THINGS"
                )
    done = set()
    for call in calls:
        if call.route.key in OPERATOR_WRITES and call.route.key not in done:
            done.add(call.route.key)
            response = await world.operator.send(call)
            assert response.status_code == OPERATOR_WRITES[call.route.key], (
                call.describe(),
                response.text[:500],
            )
    assert done == set(OPERATOR_WRITES)


async def test_a_driver_sees_only_their_own_cards_and_sessions(world: World) -> None:
    alpha, driver = world.alpha, world.driver
    own_card, others_card, unassigned = alpha.uids
    own_session, others_session = alpha.session_ids

    cards = (await driver.api.get("/api/v1/cards")).json()
    assert [c["uid"] for c in cards["items"]] == [own_card]
    assert cards["total"] == 1
    assert (await driver.api.get(f"/api/v1/cards/{own_card}")).status_code == 200
    for uid in (others_card, unassigned):
        response = await driver.api.get(f"/api/v1/cards/{uid}")
        assert response.status_code in (403, 404), response.text

    sessions = (await driver.api.get("/api/v1/sessions")).json()
    assert [s["id"] for s in sessions["items"]] == [own_session]
    assert sessions["total"] == 1
    assert (await driver.api.get(f"/api/v1/sessions/{own_session}")).status_code == 200
    response = await driver.api.get(f"/api/v1/sessions/{others_session}")
    assert response.status_code in (403, 404), response.text
    by_station = await driver.api.get("/api/v1/sessions", params={"station_id": alpha.station_id})
    assert [s["id"] for s in by_station.json()["items"]] == [own_session]
    by_tag = await driver.api.get("/api/v1/sessions", params={"id_tag": others_card})
    assert by_tag.json()["total"] == 0

    page = await driver.console.get("/sessions")
    assert page.status_code == 200
    assert own_card in page.text
    assert others_card not in page.text
    assert f'data-session="{others_session}"' not in page.text
    page = await driver.console.get("/cards")
    assert page.status_code == 200
    assert own_card in page.text
    assert others_card not in page.text
    assert unassigned not in page.text
    for uid in (others_card, unassigned):
        assert (await driver.console.get(f"/cards/{uid}")).status_code in (403, 404)


async def test_a_fleet_manager_cannot_pull_in_another_organisations_person(
    world: World, platform: Platform
) -> None:
    """Usernames are global: one that exists must neither attach a person of another organisation
    (who would then be listed, with their name and e-mail, among B's people) nor be refused as
    taken (which would tell B that it exists). A fleet manager's new logins are made in the
    organisation's login domain, so the answer is the same whether the name typed is someone's
    elsewhere or nobody's."""
    manager, alpha = world.intruders[0], world.alpha
    people_url = f"/api/v1/organisations/{world.beta_id}/people"
    beta = (await manager.api.get(f"/api/v1/organisations/{world.beta_id}")).json()
    domain = beta["login_domain"]
    assert domain == "betatech"
    made = {}
    for name in (alpha.manager.username, "nobody-at-all"):
        answer = await manager.api.post(people_url, json={"username": name, "role": "driver"})
        assert answer.status_code == 201, answer.text
        made[name] = answer.json()
        assert made[name]["username"] == f"{name}@{domain}"
        assert made[name]["password"]
    assert made[alpha.manager.username]["user_id"] not in alpha.people
    stranger = alpha.drivers[0].username
    page = await manager.console.post(
        f"/customers/{world.beta_id}/people",
        data={"username": stranger, "role": "driver", "csrf_token": manager.csrf},
    )
    assert page.status_code == 200, page.text
    assert f"{stranger}@{domain}</strong> added as driver" in page.text
    # A login of another domain is refused, whoever has it or not.
    for name in (f"{alpha.manager.username.split('@')[0]}@alphaworks", "ghost@alphaworks"):
        refused = await manager.api.post(people_url, json={"username": name, "role": "driver"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "username"
        assert refused.json()["detail"] == (
            f"username: logins made here end in @{domain}; give the part before it"
        )
    people = await manager.api.get(people_url, params={"limit": 500})
    assert people.status_code == 200
    assert not {p["id"] for p in people.json()["items"]} & alpha.people
    # A name in B's domain that an operator gave someone of A: refused, without saying why.
    found = await platform.accounts.find(world.operator.name)
    assert found is not None
    op = await platform.accounts.actor(found.id)
    assert op is not None and op.is_operator
    await platform.organisations.add_person(op, alpha.org_id, f"carol@{domain}", Role.HOST)
    taken = await manager.api.post(people_url, json={"username": "carol", "role": "driver"})
    assert taken.status_code == 422, taken.text
    assert "exist" not in taken.text and "carol" not in taken.text, taken.text
    # B's own people can take another role in B; an operator may attach anyone.
    driver = world.intruders[1].name
    again = await manager.api.post(people_url, json={"username": driver, "role": "host"})
    assert again.status_code == 201, again.text
    assert again.json()["username"] == driver
    operator = await world.operator.api.post(
        people_url, json={"username": alpha.manager.username, "role": "host"}
    )
    assert operator.status_code == 201, operator.text
    assert operator.json()["user_id"] == alpha.manager.user_id


# -- foreign and unknown look alike ----------------------------------------------------------------

# Identifiers that name nothing, one per path parameter: asked by B, A's things must be answered as
# these are.
UNKNOWN_EXAMPLES: dict[str, str] = {
    "station_id": "CP-NONE0000",
    "session_id": "987654321",
    "uid": "DEADBEEF99",
    "organisation_id": "987654321",
    "user_id": "987654321",
    "list_id": "987654321",
    "group_id": "987654321",
    "role": "driver",
    "action": "Reset",
    "licence_id": "987654321",
    "device_id": "NRG-NONE0000",
    "device_session_id": "987654321",
    "mail_id": "987654321",
    "contract_id": "987654321",
    "job_id": "987654321",
    "attachment_id": "987654321",
    "item_key": "housing",
    "template_key": "no_such_checklist",
    "ticket_id": "987654321",
    "number": "INV-2099-999999",
    "file_id": "987654321",
}
HEADING = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def _shape(response: httpx.Response) -> tuple[Any, ...]:
    """What an answer says apart from the identifier asked about: status, and the problem's
    members and title (API) or the page's heading (console)."""
    body = _json(response)
    if isinstance(body, dict):
        return (response.status_code, sorted(body), body.get("title"), body.get("field"))
    heading = HEADING.search(response.text)
    return (response.status_code, heading.group(1).strip() if heading else None)


async def test_another_organisations_things_answer_as_unknown_ones(world: World) -> None:
    """Every route naming a thing in its path answers B about A's thing exactly as about one that
    does not exist (404, same problem members, same title; or 403 for both, a route refused to B
    whatever it names), so that B cannot probe which of A's identifiers exist."""
    routes, problems = route_table(world.app)
    assert not problems, "\n".join(problems)
    assert set(PATH_EXAMPLES) == set(UNKNOWN_EXAMPLES)
    alpha = world.alpha
    failures = []
    compared = 0
    for route in routes:
        if not route.params:
            continue
        bodies: list[Body | None] = (
            list(BODY_EXAMPLES[route.key](alpha)) if route.takes_body else [None]
        )
        for name in route.params:
            # One parameter at a time names A's thing, the others name nothing (or A's too).
            unknown_url = PARAM.sub(
                lambda m, n=name: (
                    UNKNOWN_EXAMPLES[m.group(1)]
                    if m.group(1) == n
                    else PATH_EXAMPLES[m.group(1)](alpha)
                ),
                route.path,
            )
            if unknown_url == PARAM.sub(lambda m: PATH_EXAMPLES[m.group(1)](alpha), route.path):
                continue  # the parameter names no thing of A's (a role, an action)
            for body in bodies:
                known = Call(
                    route, PARAM.sub(lambda m: PATH_EXAMPLES[m.group(1)](alpha), route.path), body
                )
                unknown = Call(route, unknown_url, body)
                for intruder in [*world.intruders, world.stranger]:
                    theirs = _shape(await intruder.send(known))
                    nothing = _shape(await intruder.send(unknown))
                    compared += 1
                    # Refused whatever it names (403 both: the operator's) tells nothing either.
                    if theirs != nothing or theirs[0] not in (403, 404):
                        failures.append(
                            f"{known.describe()} as {intruder.name}: {theirs}, while"
                            f" {unknown.url} answers {nothing}"
                        )
    assert compared > 40
    assert not failures, f"{len(failures)} of {compared} differ:\n" + "\n".join(failures)


# -- a guest's card on a list: an invitation its holder answers -----------------------------------

FAST = StationConfig(heartbeat_interval=30, meter_interval=1, reconnect_min=0.2, reconnect_max=0.5)


async def test_a_guest_card_is_invited_and_joins_once_its_holder_accepts(
    world: World, platform: Platform, ocpp_url: str
) -> None:
    """A puts B's driver's card on its whitelist: the list shows the uid A typed and "invited",
    exactly as for a uid that names no card, and nothing of the card; the station does not get it.
    B's driver (or B's fleet manager) sees the invitation and accepts it: the card is then on the
    list, with its number and state, and on the station's local list."""
    alpha, manager = world.alpha, world.manager
    b_manager, b_driver, _installer = world.intruders
    guest, nobodys = B_UIDS[0], "DEADBEEF01"
    station = SimulatedStation(ocpp_url, A_STATION, password=STATION_PASSWORD, config=FAST)
    await station.connect()
    try:
        await platform.lists.wait_idle()
        assert station.local_auth.status(alpha.uids[0], use_list=True, use_cache=False) == (
            "Accepted"
        )
        answers = []
        for uid in (guest, nobodys):
            added = await manager.api.post(
                f"/api/v1/lists/{alpha.list_id}/cards", json={"uids": [uid]}
            )
            assert added.status_code == 200, added.text
            assert "PN-B-" not in added.text, added.text
            answers.append(added.json())
        invited = {i["card_uid"]: i for i in answers[-1]["invitations"]}
        assert set(invited) == {STOCK_UID, guest, nobodys}
        for uid in (guest, nobodys):
            assert sorted(invited[uid]) == ["card_uid", "invited_at", "status"]
            assert invited[uid]["status"] == "invited"
        assert [c["card_uid"] for c in answers[-1]["cards"]] == [alpha.uids[0]]
        page = await manager.console.get(f"/lists/{alpha.list_id}")
        assert f'data-invited="{guest}"' in page.text
        assert "PN-B-" not in page.text and b_driver.name not in page.text
        await platform.lists.wait_idle()
        assert station.local_auth.status(guest, use_list=True, use_cache=False) is None

        # Only the card's holder answers; the inviter has nothing to answer.
        assert (await manager.api.get("/api/v1/list-invitations")).json() == []
        refused = await manager.api.post(f"/api/v1/list-invitations/{alpha.list_id}/{guest}/accept")
        assert refused.status_code == 404, refused.text
        for holder in (b_driver, b_manager):
            pending = (await holder.api.get("/api/v1/list-invitations")).json()
            assert [(p["list_id"], p["card_uid"], p["inviter"]) for p in pending] == [
                (alpha.list_id, guest, A_NAME)
            ]
        cards_page = await b_driver.console.get("/cards")
        assert f'data-invitation="{alpha.list_id}:{guest}"' in cards_page.text

        accepted = await b_driver.api.post(
            f"/api/v1/list-invitations/{alpha.list_id}/{guest}/accept"
        )
        assert accepted.status_code == 204, accepted.text
        await platform.lists.wait_idle()
        assert station.local_auth.status(guest, use_list=True, use_cache=False) == "Accepted"
        shown = (await manager.api.get(f"/api/v1/lists/{alpha.list_id}")).json()
        cards = {c["card_uid"]: (c["printed_number"], c["state"]) for c in shown["cards"]}
        assert cards[guest] == ("PN-B-0001", "active")
        assert {i["card_uid"] for i in shown["invitations"]} == {STOCK_UID, nobodys}
        assert (await b_driver.api.get("/api/v1/list-invitations")).json() == []
        again = await b_driver.api.post(f"/api/v1/list-invitations/{alpha.list_id}/{guest}/accept")
        assert again.status_code == 404
    finally:
        await station.close()


async def test_a_declined_invitation_is_gone(world: World) -> None:
    """Through the console: A invites B's company card by its uid, B's fleet manager declines it;
    the list then holds neither the card nor the invitation. A printed number A cannot see is
    answered as one that names nothing."""
    alpha, manager = world.alpha, world.manager
    b_manager, b_driver, _installer = world.intruders
    guest = B_UIDS[1]  # B's, with no driver
    url = f"/lists/{alpha.list_id}/cards"
    invited = await manager.console.post(url, data={"card": guest, "csrf_token": manager.csrf})
    assert invited.status_code == 303, invited.text
    page = await manager.console.get(f"/lists/{alpha.list_id}")
    assert "invited: it joins the list once its holder accepts" in page.text
    assert f'data-invited="{guest}"' in page.text and "PN-B-" not in page.text
    by_number = []
    for printed in ("PN-B-0002", "PN-Z-0002"):
        answer = await manager.console.post(url, data={"card": printed, "csrf_token": manager.csrf})
        assert answer.status_code == 422
        found = re.search(r'class="field-error"[^>]*>([^<]*)<', answer.text)
        assert found, answer.text
        by_number.append(found.group(1).replace(printed, "…"))
    assert by_number[0] == by_number[1]

    # B's driver does not hold that card: nothing to see, nothing to answer.
    assert (await b_driver.api.get("/api/v1/list-invitations")).json() == []
    decline = f"/cards/invitations/{alpha.list_id}/{guest}/decline"
    refused = await b_driver.console.post(decline, data={"csrf_token": b_driver.csrf})
    assert refused.status_code == 404
    cards_page = await b_manager.console.get("/cards")
    assert f'data-invitation="{alpha.list_id}:{guest}"' in cards_page.text
    declined = await b_manager.console.post(decline, data={"csrf_token": b_manager.csrf})
    assert declined.status_code == 303, declined.text
    assert (await b_manager.api.get("/api/v1/list-invitations")).json() == []
    shown = (await manager.api.get(f"/api/v1/lists/{alpha.list_id}")).json()
    assert guest not in {c["card_uid"] for c in shown["cards"]}
    assert guest not in {i["card_uid"] for i in shown["invitations"]}

    # The operator acts as before: any card goes straight onto the list, and shows.
    added = await world.operator.api.post(
        f"/api/v1/lists/{alpha.list_id}/cards", json={"uids": [guest]}
    )
    assert added.status_code == 200, added.text
    assert {c["card_uid"]: c["printed_number"] for c in added.json()["cards"]}[guest] == (
        "PN-B-0002"
    )


async def test_a_job_is_seen_by_its_customer_and_its_installer_only(
    world: World, platform: Platform
) -> None:
    """A's job, to A's fleet manager (its customer) and A's installer: seen, with its photo; the
    installer works on it and sees nothing else of A's. A's driver (a company's) sees no jobs."""
    alpha = world.alpha
    job_url = f"/api/v1/jobs/{alpha.job_id}"
    photo_url = f"{job_url}/attachments/{alpha.attachment_id}"
    installer_key = await platform.accounts.create_api_key(alpha.installer.username)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=world.app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {installer_key}"},
    ) as installer:
        for client in (world.manager.api, installer):
            job = await client.get(job_url)
            assert job.status_code == 200, job.text
            assert job.json()["station_id"] == alpha.station_id
            photo = await client.get(photo_url)
            assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"
            listed = (await client.get("/api/v1/jobs")).json()
            assert [j["id"] for j in listed["items"]] == [alpha.job_id]
        answered = await installer.post(f"{job_url}/items/mounting/answers", json={"passed": True})
        assert answered.status_code == 200, answered.text
        assert (
            await world.manager.api.post(f"{job_url}/items/identity/answers", json={"passed": True})
        ).status_code == 403
        for uid in alpha.uids:
            assert (await installer.get(f"/api/v1/cards/{uid}")).status_code == 404
        assert (await installer.get(f"/api/v1/organisations/{alpha.org_id}")).status_code in (
            403,
            404,
        )
    assert (await world.driver.api.get(job_url)).status_code == 404
    assert (await world.driver.api.get("/api/v1/jobs")).json()["total"] == 0


# -- an installer and the stations it looks after ------------------------------------------------


async def test_an_installer_sees_and_handles_only_the_tickets_of_its_stations(
    world: World,
) -> None:
    """A's installer looks after A's station: it lists and takes up A's ticket (and sees nothing
    else of A's); D's installer sees none of it, as if it did not exist; A's fleet manager reads
    the ticket of A's station but may not handle it."""
    alpha, installer, stranger = world.alpha, world.installer, world.stranger
    url = f"/api/v1/tickets/{alpha.ticket_id}"
    mine = (await installer.api.get("/api/v1/tickets")).json()
    assert [t["id"] for t in mine["items"]] == [alpha.ticket_id]
    assert mine["items"][0]["station_id"] == alpha.station_id
    assert (await stranger.api.get("/api/v1/tickets")).json()["total"] == 0
    assert (await stranger.api.get(url)).status_code == 404
    owner = (await world.manager.api.get("/api/v1/tickets")).json()
    assert [t["id"] for t in owner["items"]] == [alpha.ticket_id]
    refused = await world.manager.api.post(f"{url}/acknowledge", json={"note": "mine"})
    assert refused.status_code == 403, refused.text
    assert (await world.driver.api.get("/api/v1/tickets")).json()["total"] == 0
    taken = await installer.api.post(f"{url}/acknowledge", json={"note": "on site at 14:00"})
    assert taken.status_code == 200, taken.text
    assert taken.json()["acknowledged_by"] == alpha.installer.username
    # Looking after a station's upkeep is no window on the rest of A's things.
    assert (await installer.api.get(f"/api/v1/sessions/{alpha.session_ids[0]}")).status_code in (
        403,
        404,
    )
    assert A_NAME not in (await installer.api.get("/api/v1/organisations")).text
    assert A_NAME not in (await installer.api.get("/api/v1/cards")).text
