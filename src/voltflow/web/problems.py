"""Errors as RFC 9457 problem details, naming the field at fault where there is one."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from voltflow.domain.billing.prepaid import PrepaidError
from voltflow.domain.contracts import ContractError
from voltflow.i18n import _, language, lazy
from voltflow.services.access import Forbidden
from voltflow.services.accounts import AccountError
from voltflow.services.activity_views import ActivityNotFound
from voltflow.services.billing import BillingError, DocumentNotFound
from voltflow.services.cards import CardError, CardNotFound, ImportRejected
from voltflow.services.corrections import CorrectionError
from voltflow.services.jobs import (
    AttachmentNotFound,
    FileTooLarge,
    ItemNotFound,
    JobNotFound,
    JobProblem,
    TemplateNotFound,
)
from voltflow.services.licences import DeviceNotFound, LicenceNotFound, LicenceProblem
from voltflow.services.lists import ListError, ListNotFound
from voltflow.services.organisations import (
    OrganisationError,
    OrganisationNotFound,
    PersonNotFound,
)
from voltflow.services.payments import MandateNotFound, PaymentProblem, SepaFileNotFound
from voltflow.services.ports import CommandError, WriterClosed
from voltflow.services.prepaid import ContractNotFound
from voltflow.services.pricing import PricingError
from voltflow.services.sessions import SessionNotFound
from voltflow.services.stations import StationError, StationNotFound
from voltflow.services.tickets import TicketError, TicketNotFound
from voltflow.services.tokens import TokenError

log = logging.getLogger(__name__)

COMMAND_STATUS = {
    "offline": 409,
    "station-pending": 409,
    "key-change-busy": 409,
    "timeout": 504,
    "callerror": 502,
    "invalid": 422,
    "error": 502,
}

# The title of a failed command's problem, by CommandError.kind: "Command " and the kind, as
# clients have always read it in English.
COMMAND_TITLES = {
    "offline": lazy("Command offline"),
    "station-pending": lazy("Command station-pending"),
    "key-change-busy": lazy("Command key-change-busy"),
    "timeout": lazy("Command timeout"),
    "callerror": lazy("Command callerror"),
    "invalid": lazy("Command invalid"),
    "error": lazy("Command error"),
}

# The database cannot be reached or cannot answer now (refused or lost connection, a pool with no
# connection to give, a locked SQLite file), or the station writer is not running: the request
# was fine and may succeed later. The driver's own classes too, for errors SQLAlchemy did not wrap.
UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    WriterClosed,
)
RETRY_AFTER_SECONDS = 5


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


def problem_response(
    status: int, title: str, detail: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def respond(
    request: Request, status: int, title: str, detail: str | None = None, **extra: Any
) -> Response:
    """Problem details for the API; for the console, a page a person can read."""
    if request.url.path.startswith("/api/") or status == 401:
        return problem_response(status, title, detail, **extra)
    from voltflow.web.console import templates

    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status": status,
            "title": title,
            "detail": detail,
            "user": None,
            "language": language(),
            "forbidden": extra.get("permission") is not None,
        },
        status_code=status,
    )


# Pydantic's own messages are English; the common ones are said again in the request's language,
# with the figures pydantic reports (the rest keep pydantic's English).
def _validation_message(err: Any) -> str:
    ctx = err.get("ctx") or {}
    kind = err.get("type", "")
    if kind == "missing":
        return _("required")
    if kind == "string_too_short":
        return _("at least %(n)s characters") % {"n": ctx.get("min_length")}
    if kind == "string_too_long":
        return _("at most %(n)s characters") % {"n": ctx.get("max_length")}
    if kind == "string_pattern_mismatch":
        return _("does not have the expected form")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("a whole number")
    if kind in ("decimal_parsing", "decimal_type", "float_parsing", "float_type"):
        return _("a number")
    if kind in ("bool_parsing", "bool_type"):
        return _("true or false")
    if kind in ("string_type",):
        return _("text")
    if kind == "greater_than_equal":
        return _("at least %(n)s") % {"n": ctx.get("ge")}
    if kind == "greater_than":
        return _("more than %(n)s") % {"n": ctx.get("gt")}
    if kind == "less_than_equal":
        return _("at most %(n)s") % {"n": ctx.get("le")}
    if kind == "less_than":
        return _("less than %(n)s") % {"n": ctx.get("lt")}
    if kind in ("enum", "literal_error"):
        return _("one of %(values)s") % {"values": ctx.get("expected")}
    if kind == "extra_forbidden":
        return _("not a field of this request")
    if kind in ("json_invalid", "model_attributes_type", "dict_type", "model_type"):
        return _("a JSON object of the documented form")
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return _("a date, e.g. 2026-01-31")
    message: str = err.get("msg", "invalid")
    return message


def install(app: FastAPI) -> None:
    async def _unavailable(request: Request, exc: Exception) -> Response:
        log.warning("database unavailable: %s %s: %s", request.method, request.url.path, exc)
        response = respond(
            request,
            503,
            _("Service unavailable"),
            _("the database cannot be reached right now: try again shortly"),
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    for error in UNAVAILABLE:
        app.add_exception_handler(error, _unavailable)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return respond(request, exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            errors.append({"field": ".".join(loc) or None, "message": _validation_message(err)})
        first = errors[0] if errors else {"field": None, "message": _("invalid request")}
        detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return respond(
            request, 422, _("Invalid request"), detail, field=first["field"], errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        response = respond(request, exc.status_code, _http_title(exc))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(StationError)
    async def _station(request: Request, exc: StationError) -> Response:
        return respond(request, 422, _("Invalid station"), str(exc), field=exc.field)

    @app.exception_handler(AccountError)
    async def _account(request: Request, exc: AccountError) -> Response:
        return respond(request, 422, _("Invalid account"), str(exc), field=exc.field)

    @app.exception_handler(TokenError)
    async def _token(request: Request, exc: TokenError) -> Response:
        return respond(request, 422, _("Invalid token"), str(exc), field="uid")

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return respond(request, 403, _("Forbidden"), str(exc), permission=exc.permission.value)

    @app.exception_handler(ImportRejected)
    async def _import(request: Request, exc: ImportRejected) -> Response:
        problems = [{"row": p.row, "column": p.column, "message": p.message} for p in exc.problems]
        first = exc.problems[0]
        return respond(
            request,
            422,
            _("Import rejected"),
            str(exc),
            row=first.row,
            field=first.column,
            problems=problems,
        )

    for error, title in (
        (CardError, lazy("Invalid card request")),
        (ListError, lazy("Invalid list request")),
        (OrganisationError, lazy("Invalid organisation request")),
        (ContractError, lazy("Invalid contract")),
        (PricingError, lazy("Invalid price request")),
        (CorrectionError, lazy("Invalid correction")),
        (LicenceProblem, lazy("Invalid licence request")),
        (PrepaidError, lazy("Invalid top-up")),
        (JobProblem, lazy("Invalid job request")),
        (BillingError, lazy("Invalid billing request")),
        (TicketError, lazy("Invalid ticket request")),
        (PaymentProblem, lazy("Invalid payment")),
    ):
        app.add_exception_handler(error, _field_problem(title))
    for missing, title in (
        (CardNotFound, lazy("Card not found")),
        (OrganisationNotFound, lazy("Organisation not found")),
        (ContractNotFound, lazy("Contract not found")),
    ):
        app.add_exception_handler(missing, _not_found(title))

    @app.exception_handler(FileTooLarge)
    async def _file_too_large(request: Request, exc: FileTooLarge) -> Response:
        return respond(request, 413, _("File too large"), str(exc), field=exc.field)

    @app.exception_handler(JobNotFound)
    async def _no_job(request: Request, exc: JobNotFound) -> Response:
        return respond(request, 404, _("Job not found"), _("no job %(id)s") % {"id": exc.args[0]})

    @app.exception_handler(ItemNotFound)
    async def _no_item(request: Request, exc: ItemNotFound) -> Response:
        return respond(
            request,
            404,
            _("Checklist item not found"),
            _("no item %(item)s in the checklist of job %(id)s")
            % {"item": exc.args[1], "id": exc.args[0]},
        )

    @app.exception_handler(AttachmentNotFound)
    async def _no_attachment(request: Request, exc: AttachmentNotFound) -> Response:
        return respond(request, 404, _("File not found"), _("no file %(id)s") % {"id": exc.args[0]})

    @app.exception_handler(TemplateNotFound)
    async def _no_template(request: Request, exc: TemplateNotFound) -> Response:
        return respond(
            request,
            404,
            _("Checklist template not found"),
            _("no checklist template %(key)s") % {"key": exc.args[0]},
        )

    @app.exception_handler(ListNotFound)
    async def _no_list(request: Request, exc: ListNotFound) -> Response:
        # The service says the whole sentence: "no list 5", "no invitation of card … to list …".
        return respond(request, 404, _("Not found"), str(exc))

    @app.exception_handler(PersonNotFound)
    async def _no_person(request: Request, exc: PersonNotFound) -> Response:
        return respond(
            request,
            404,
            _("Person not found"),
            _("no person %(id)s in this organisation") % {"id": exc.args[0]},
        )

    @app.exception_handler(DocumentNotFound)
    async def _no_document(request: Request, exc: DocumentNotFound) -> Response:
        return respond(
            request, 404, _("Document not found"), _("no document %(id)s") % {"id": exc.args[0]}
        )

    @app.exception_handler(SepaFileNotFound)
    async def _no_sepa_file(request: Request, exc: SepaFileNotFound) -> Response:
        return respond(
            request, 404, _("SEPA file not found"), _("no SEPA file %(id)s") % {"id": exc.args[0]}
        )

    @app.exception_handler(MandateNotFound)
    async def _no_mandate(request: Request, exc: MandateNotFound) -> Response:
        return respond(
            request, 404, _("Mandate not found"), _("no mandate %(id)s") % {"id": exc.args[0]}
        )

    @app.exception_handler(LicenceNotFound)
    async def _no_licence(request: Request, exc: LicenceNotFound) -> Response:
        return respond(
            request, 404, _("Licence not found"), _("no licence %(id)s") % {"id": exc.args[0]}
        )

    @app.exception_handler(DeviceNotFound)
    async def _no_device(request: Request, exc: DeviceNotFound) -> Response:
        return respond(
            request,
            404,
            _("Device not found"),
            _("no external device %(id)s") % {"id": exc.args[0]},
        )

    @app.exception_handler(TicketNotFound)
    async def _no_ticket(request: Request, exc: TicketNotFound) -> Response:
        return respond(
            request, 404, _("Ticket not found"), _("no ticket %(id)s") % {"id": exc.args[0]}
        )

    @app.exception_handler(StationNotFound)
    async def _no_station(request: Request, exc: StationNotFound) -> Response:
        return respond(
            request, 404, _("Station not found"), _("no station %(id)s") % {"id": exc.args[0]}
        )

    @app.exception_handler(ActivityNotFound)
    async def _no_activity(request: Request, exc: ActivityNotFound) -> Response:
        return respond(
            request, 404, _("Session not found"), _("no session %(id)s") % {"id": exc.args[0]}
        )

    @app.exception_handler(SessionNotFound)
    async def _no_session(request: Request, exc: SessionNotFound) -> Response:
        return respond(
            request, 404, _("Session not found"), _("no session %(id)s") % {"id": exc.args[0]}
        )

    @app.exception_handler(CommandError)
    async def _command(request: Request, exc: CommandError) -> Response:
        return respond(
            request,
            COMMAND_STATUS.get(exc.kind, 502),
            str(COMMAND_TITLES.get(exc.kind, f"Command {exc.kind}")),
            exc.message,
            kind=exc.kind,
            code=exc.code,
            details=exc.details,
        )


def _field_problem(title: str) -> Any:
    async def handler(request: Request, exc: Exception) -> Response:
        return respond(request, 422, str(title), str(exc), field=getattr(exc, "field", None))

    return handler


def _not_found(title: str) -> Any:
    async def handler(request: Request, exc: Exception) -> Response:
        what = exc.args[0] if exc.args else _("such thing")
        return respond(request, 404, str(title), _("no %(what)s") % {"what": what})

    return handler


# The titles HTTPException carries that people meet; others stay as raised.
_HTTP_TITLES = {
    "a valid API key is required (Authorization: Bearer …)": lazy(
        "a valid API key is required (Authorization: Bearer …)"
    ),
    "CSRF token missing or invalid: reload the page and try again": lazy(
        "CSRF token missing or invalid: reload the page and try again"
    ),
    "Not Found": lazy("Not Found"),
    "Method Not Allowed": lazy("Method Not Allowed"),
}


def _http_title(exc: StarletteHTTPException) -> str:
    detail = str(exc.detail)
    known = _HTTP_TITLES.get(detail)
    return str(known) if known is not None else detail
