import pytest

from voltflow.domain.access import (
    Actor,
    Membership,
    OrganisationKind,
    Permission,
    Role,
    allowed,
    parse_scopes,
)

K, R, P = OrganisationKind, Role, Permission
OPERATOR = Actor(1, "op", (Membership(1, K.OPERATOR, R.OPERATOR),))
FLEET = Actor(2, "fm", (Membership(10, K.COMPANY, R.FLEET_MANAGER),))
DRIVER = Actor(3, "dr", (Membership(10, K.COMPANY, R.DRIVER), Membership(20, K.HOUSEHOLD, R.HOST)))
HOME = Actor(4, "hh", (Membership(30, K.HOUSEHOLD, R.DRIVER),))
INSTALLER = Actor(5, "tech", (Membership(40, K.INSTALLER, R.INSTALLER),))


@pytest.mark.parametrize(
    ("actor", "permission", "org", "expected"),
    [
        (OPERATOR, P.CARD_STOCK, None, True),
        (OPERATOR, P.CARDS_WRITE, 10, True),
        (FLEET, P.CARDS_WRITE, 10, True),
        (FLEET, P.CARDS_WRITE, 11, False),
        (FLEET, P.CARD_STOCK, None, False),
        (FLEET, P.CUSTOMERS_WRITE, 10, False),
        (FLEET, P.LISTS_WRITE, 10, True),
        (DRIVER, P.SESSIONS_READ, 10, True),
        (DRIVER, P.CARDS_WRITE, 10, False),
        (DRIVER, P.STATIONS_READ, 20, True),
        (DRIVER, P.STATIONS_READ, 10, False),
        # Jobs: a company's fleet manager and a host ask for them, an installer does them, a
        # household's own people ask for theirs; a company's driver does neither.
        (FLEET, P.JOBS_REQUEST, 10, True),
        (FLEET, P.JOBS_WORK, 10, False),
        (DRIVER, P.JOBS_READ, 10, False),
        (DRIVER, P.JOBS_REQUEST, 20, True),
        (HOME, P.JOBS_REQUEST, 30, True),
        (HOME, P.JOBS_READ, 30, True),
        (HOME, P.JOBS_MANAGE, 30, False),
        (INSTALLER, P.JOBS_WORK, 40, True),
        (INSTALLER, P.JOBS_REQUEST, 40, False),
        (INSTALLER, P.JOBS_MANAGE, None, False),
        (OPERATOR, P.CHECKLISTS_WRITE, None, True),
    ],
)
def test_roles_grant_permissions_inside_their_organisation(
    actor: Actor, permission: Permission, org: int | None, expected: bool
) -> None:
    assert allowed(actor, permission, org) is expected


def test_a_role_in_a_non_operator_organisation_is_not_an_operator() -> None:
    pretender = Actor(9, "x", (Membership(10, K.COMPANY, R.OPERATOR),))
    assert not pretender.is_operator
    assert not allowed(pretender, P.CARD_STOCK, None)


def test_api_key_scopes_narrow_even_an_operator() -> None:
    scoped = Actor(1, "op", OPERATOR.memberships, scopes=frozenset({P.STATIONS_READ}))
    assert allowed(scoped, P.STATIONS_READ, 10)
    assert not allowed(scoped, P.STATIONS_COMMAND, 10)
    assert scoped.organisations(P.CARDS_READ) == frozenset()


def test_scopes_parse_and_reject_unknown() -> None:
    assert parse_scopes(["stations:read", " cards:write"]) == {P.STATIONS_READ, P.CARDS_WRITE}
    with pytest.raises(ValueError, match="unknown scope 'stations:delete'"):
        parse_scopes(["stations:delete"])
