"""The check every use case makes before it reads or writes: may this actor do this here?"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from voltflow.domain.access import Actor, Permission, Role, allowed
from voltflow.i18n import _

# What a role grants over the person's own things only, not over all their organisation holds: a
# driver reads their own cards and the sessions charged with them, not their colleagues'. (Whose
# the thing is, the use case checks: a card's driver, a session's card.)
OWN_ONLY: dict[Role, frozenset[Permission]] = {
    Role.DRIVER: frozenset(
        {
            Permission.CARDS_READ,
            Permission.SESSIONS_READ,
            Permission.LICENCES_READ,
            Permission.BILLING_READ,
        }
    ),
    # A host reads the statements that pay them, not their organisation's invoices.
    Role.HOST: frozenset({Permission.BILLING_READ}),
}


class Forbidden(PermissionError):
    def __init__(self, actor: Actor, permission: Permission) -> None:
        super().__init__(
            _("%(user)s may not use %(permission)s here")
            % {"user": actor.username, "permission": permission.value}
        )
        self.permission = permission


def require(
    actor: Actor,
    permission: Permission,
    organisation_id: int | None,
    *,
    missing: Callable[[], Exception] | None = None,
    exists: bool = True,
) -> None:
    """Refuses (``Forbidden``) unless ``actor`` may use ``permission`` on what
    ``organisation_id`` owns.

    For a thing looked up by its identifier, give ``missing`` (what an unknown identifier raises)
    and ``exists`` (whether it was found): to someone with no role in the organisation owning it,
    the thing then does not exist either, so that another organisation's identifiers cannot be
    told from unknown ones. Those who know the organisation get the refusal; a key without the
    scope is refused whatever it names, known or not."""
    if missing is not None:
        if actor.scopes is not None and permission not in actor.scopes:
            raise Forbidden(actor, permission)
        if not exists or not knows(actor, organisation_id):
            raise missing()
    if not allowed(actor, permission, organisation_id) or (
        not actor.is_operator and organisation_id not in _whole(actor, permission)
    ):
        raise Forbidden(actor, permission)


class Owned(Protocol):
    """A record owned by an organisation (None: by none, the platform's own)."""

    @property
    def organisation_id(self) -> int | None: ...


Found = TypeVar("Found", bound=Owned)


def require_found(
    actor: Actor,
    permission: Permission,
    found: Found | None,
    missing: Callable[[], Exception],
) -> Found:
    """``require`` for a record looked up by its identifier, owned by its ``organisation_id``:
    answers the record, found and allowed; unknown and foreign alike raise ``missing``."""
    require(
        actor,
        permission,
        found.organisation_id if found is not None else None,
        missing=missing,
        exists=found is not None,
    )
    assert found is not None
    return found


def knows(actor: Actor, organisation_id: int | None) -> bool:
    """Whether the things of ``organisation_id`` are anything to ``actor``: operators know all,
    others the organisations they hold a role in."""
    if actor.is_operator:
        return True
    return organisation_id is not None and bool(actor.roles_in(organisation_id))


def scope_of(actor: Actor, permission: Permission) -> frozenset[int] | None:
    """The organisations whose things a list may show; ``None`` means all (operators)."""
    if actor.scopes is not None and permission not in actor.scopes:
        return frozenset()
    return None if actor.is_operator else _whole(actor, permission)


def _whole(actor: Actor, permission: Permission) -> frozenset[int]:
    """Organisations where ``actor`` may use ``permission`` on everything the organisation holds."""
    if actor.scopes is not None and permission not in actor.scopes:
        return frozenset()
    return frozenset(
        m.organisation_id
        for m in actor.memberships
        if permission in m.permissions and permission not in OWN_ONLY.get(m.role, ())
    )
