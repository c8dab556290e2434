"""The check every use case makes before it reads or writes: may this actor do this here?"""

from __future__ import annotations

from voltflow.domain.access import ROLE_PERMISSIONS, Actor, Permission, Role, allowed

# What a role grants over the person's own things only, not over all their organisation holds: a
# driver reads their own cards and the sessions charged with them, not their colleagues'. (Whose
# the thing is, the use case checks: a card's driver, a session's card.)
OWN_ONLY: dict[Role, frozenset[Permission]] = {
    Role.DRIVER: frozenset({Permission.CARDS_READ, Permission.SESSIONS_READ}),
}


class Forbidden(PermissionError):
    def __init__(self, actor: Actor, permission: Permission) -> None:
        super().__init__(f"{actor.username} may not use {permission.value} here")
        self.permission = permission


def require(actor: Actor, permission: Permission, organisation_id: int | None) -> None:
    if not allowed(actor, permission, organisation_id) or (
        not actor.is_operator and organisation_id not in _whole(actor, permission)
    ):
        raise Forbidden(actor, permission)


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
        if permission in ROLE_PERMISSIONS[m.role] and permission not in OWN_ONLY.get(m.role, ())
    )
