"""Who may do what, where: roles held in organisations, permissions, API key scopes.

Every use case asks :func:`allowed` with the organisation that owns the thing it touches. An
operator (a person holding the operator role in the operator organisation) may act everywhere;
everyone else only inside the organisations where they hold a role that grants the permission.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field


class OrganisationKind(enum.StrEnum):
    OPERATOR = "operator"
    COMPANY = "company"  # B2B customer
    HOUSEHOLD = "household"  # B2C customer
    INSTALLER = "installer"


class Role(enum.StrEnum):
    OPERATOR = "operator"
    FLEET_MANAGER = "fleet_manager"
    DRIVER = "driver"
    HOST = "host"
    INSTALLER = "installer"


class Permission(enum.StrEnum):
    STATIONS_READ = "stations:read"
    STATIONS_WRITE = "stations:write"
    STATIONS_COMMAND = "stations:command"
    SESSIONS_READ = "sessions:read"
    CARDS_READ = "cards:read"
    CARDS_WRITE = "cards:write"
    CARD_STOCK = "cards:stock"
    LISTS_WRITE = "lists:write"
    PEOPLE_READ = "people:read"
    PEOPLE_WRITE = "people:write"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    CONTRACTS_READ = "contracts:read"
    CONTRACTS_WRITE = "contracts:write"
    AUDIT_READ = "audit:read"
    LICENCES_READ = "licences:read"
    LICENCES_WRITE = "licences:write"
    # Installation jobs (``domain.installations``): reading a job of one's own (as its customer
    # or its installer), asking for one, doing one, and running them all (assigning installers,
    # waiving checklist items); editing the checklists.
    JOBS_READ = "jobs:read"
    JOBS_REQUEST = "jobs:request"
    JOBS_WORK = "jobs:work"
    JOBS_MANAGE = "jobs:manage"
    CHECKLISTS_WRITE = "checklists:write"
    BILLING_READ = "billing:read"  # issued documents
    BILLING_WRITE = "billing:write"  # billing runs, credit notes
    # Service tickets: reading those of one's stations (owned, or looked after as installer),
    # and taking them up and closing them.
    TICKETS_READ = "tickets:read"
    TICKETS_WRITE = "tickets:write"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset(Permission),
    Role.FLEET_MANAGER: frozenset(
        {
            P.STATIONS_READ,
            P.STATIONS_COMMAND,
            P.SESSIONS_READ,
            P.CARDS_READ,
            P.CARDS_WRITE,
            P.LISTS_WRITE,
            P.PEOPLE_READ,
            P.PEOPLE_WRITE,
            P.CUSTOMERS_READ,
            P.CONTRACTS_READ,
            P.AUDIT_READ,
            P.LICENCES_READ,
            P.LICENCES_WRITE,
            P.JOBS_READ,
            P.JOBS_REQUEST,
            P.BILLING_READ,
            P.TICKETS_READ,
        }
    ),
    Role.DRIVER: frozenset({P.SESSIONS_READ, P.CARDS_READ, P.LICENCES_READ, P.BILLING_READ}),
    Role.HOST: frozenset(
        {
            P.STATIONS_READ,
            P.SESSIONS_READ,
            P.JOBS_READ,
            P.JOBS_REQUEST,
            P.BILLING_READ,
            P.TICKETS_READ,
        }
    ),
    Role.INSTALLER: frozenset(
        {
            P.STATIONS_READ,
            P.STATIONS_WRITE,
            P.STATIONS_COMMAND,
            P.CARDS_READ,
            P.CARDS_WRITE,
            P.JOBS_READ,
            P.JOBS_WORK,
            P.TICKETS_READ,
            P.TICKETS_WRITE,
        }
    ),
}

# What a role grants in one kind of organisation only: a household has no fleet manager, so its
# own people ask for the work on its station and follow it (in a company, a driver does not).
KIND_ROLE_PERMISSIONS: dict[tuple[OrganisationKind, Role], frozenset[Permission]] = {
    (OrganisationKind.HOUSEHOLD, Role.DRIVER): frozenset({P.JOBS_READ, P.JOBS_REQUEST}),
}

# Roles an organisation of each kind can hand out.
KIND_ROLES: dict[OrganisationKind, frozenset[Role]] = {
    OrganisationKind.OPERATOR: frozenset({Role.OPERATOR}),
    OrganisationKind.COMPANY: frozenset({Role.FLEET_MANAGER, Role.DRIVER, Role.HOST}),
    OrganisationKind.HOUSEHOLD: frozenset({Role.DRIVER, Role.HOST}),
    OrganisationKind.INSTALLER: frozenset({Role.INSTALLER}),
}


@dataclass(frozen=True, slots=True)
class Membership:
    organisation_id: int
    kind: OrganisationKind
    role: Role

    @property
    def permissions(self) -> frozenset[Permission]:
        """What the role grants in this organisation."""
        extra = KIND_ROLE_PERMISSIONS.get((self.kind, self.role))
        base = ROLE_PERMISSIONS[self.role]
        return base if extra is None else base | extra


@dataclass(frozen=True, slots=True)
class Actor:
    """A person acting, through the console or an API key (whose scopes narrow what it may do)."""

    user_id: int
    username: str
    memberships: tuple[Membership, ...]
    scopes: frozenset[Permission] | None = field(default=None)

    @property
    def is_operator(self) -> bool:
        return any(
            m.role is Role.OPERATOR and m.kind is OrganisationKind.OPERATOR
            for m in self.memberships
        )

    def organisations(self, permission: Permission) -> frozenset[int]:
        """Organisations where this actor holds ``permission`` (operators: see ``allowed``)."""
        if self.scopes is not None and permission not in self.scopes:
            return frozenset()
        return frozenset(m.organisation_id for m in self.memberships if permission in m.permissions)

    def roles_in(self, organisation_id: int) -> frozenset[Role]:
        return frozenset(m.role for m in self.memberships if m.organisation_id == organisation_id)


def allowed(actor: Actor, permission: Permission, organisation_id: int | None) -> bool:
    """May ``actor`` use ``permission`` on something owned by ``organisation_id``?

    ``None`` stands for things no customer owns (card stock, unowned stations): operators only.
    """
    if actor.scopes is not None and permission not in actor.scopes:
        return False
    if actor.is_operator:
        return True
    if organisation_id is None:
        return False
    return organisation_id in actor.organisations(permission)


def parse_scopes(values: Iterable[str]) -> frozenset[Permission]:
    out = set()
    for value in values:
        try:
            out.add(Permission(value.strip()))
        except ValueError as exc:
            known = ", ".join(p.value for p in Permission)
            raise ValueError(f"unknown scope {value!r}; known: {known}") from exc
    return frozenset(out)


def system_actor(name: str) -> Actor:
    """Someone with direct access to the platform's database (the CLI): an operator by nature."""
    return Actor(0, name, (Membership(0, OrganisationKind.OPERATOR, Role.OPERATOR),))


# The platform acting on its own behalf (list synchronisation, the CLI's direct database access,
# internal calls): it holds the operator role.
PLATFORM = system_actor("platform")


def login_domain(name: str, taken: Iterable[str] = ()) -> str:
    """The domain an organisation's logins end in, from its name: its letters and digits,
    lower-case (``Acme Corp.`` → ``acmecorp``), numbered when ``taken`` holds it already."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "", ascii_name.lower())[:40] or "org"
    used = set(taken)
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}{n}"
    return candidate
