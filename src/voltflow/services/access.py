"""The check every use case makes before it reads or writes: may this actor do this here?"""

from __future__ import annotations

from voltflow.domain.access import Actor, Permission, allowed


class Forbidden(PermissionError):
    def __init__(self, actor: Actor, permission: Permission) -> None:
        super().__init__(f"{actor.username} may not use {permission.value} here")
        self.permission = permission


def require(actor: Actor, permission: Permission, organisation_id: int | None) -> None:
    if not allowed(actor, permission, organisation_id):
        raise Forbidden(actor, permission)


def scope_of(actor: Actor, permission: Permission) -> frozenset[int] | None:
    """The organisations whose things a list may show; ``None`` means all (operators)."""
    if actor.scopes is not None and permission not in actor.scopes:
        return frozenset()
    return None if actor.is_operator else actor.organisations(permission)
