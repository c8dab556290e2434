"""A prepaid customer's credit on its console page over real HTTP: the operator creates a
prepaid contract, books a transfer (once, whatever the repeats), a bad amount is refused next to
its field, and the customer's fleet manager sees the balance without the form."""

from __future__ import annotations

import re
from datetime import date

from tests.factories import company, operator
from tests.web.conftest import console
from voltflow.bootstrap import Platform
from voltflow.web import create_app


async def test_the_operator_books_top_ups_and_the_customer_sees_its_credit(
    platform: Platform,
) -> None:
    op = await operator(platform, "op")
    acme = await company(platform, op, "Acme", drivers=1)
    app = create_app(platform)
    async with console(app, "op", "op-password") as (client, csrf):
        created = await client.post(
            f"/customers/{acme.id}/contracts",
            data={
                "csrf_token": csrf,
                "kind": "emsp",
                "starts_on": date(2026, 1, 1).isoformat(),
                "prepaid": "1",
            },
        )
        assert created.status_code == 303
        page = await client.get(f"/customers/{acme.id}")
        assert 'id="credit"' in page.text
        assert "No movement yet" in page.text
        [contract] = await platform.contracts.of_organisation(op, acme.id)
        assert contract.prepaid
        top_up = f"/customers/{acme.id}/contracts/{contract.id}/top-ups"

        refused = await client.post(
            top_up, data={"csrf_token": csrf, "amount": "12.345", "reference": "TR-1"}
        )
        assert refused.status_code == 422
        assert re.search(r'id="top-up-\d+-amount-error">[^<]*decimals', refused.text)

        for _ in range(2):  # the same transfer, booked twice by mistake
            booked = await client.post(
                top_up,
                data={"csrf_token": csrf, "amount": "25,00", "reference": "TR-1"},
                follow_redirects=True,
            )
            assert booked.status_code == 200
        assert "was booked before: nothing added" in booked.text
        assert "Top-up TR-1" in booked.text
        assert (await platform.contracts.repo.get(contract.id)).prepaid_balance == 25  # type: ignore[union-attr]
        # Where the balance is, how to top it up: the contract's own structured reference.
        assert contract.top_up_reference is not None
        assert f"with the structured reference {contract.top_up_reference}" in booked.text

    async with console(app, acme.manager.username, "manager-pass", "nl") as (client, _csrf):
        page = await client.get(f"/customers/{acme.id}")
        assert "Tegoed" in page.text and "€ 25,00" in page.text
        assert "Een aanvulling boeken" not in page.text  # the operator books, not the customer
        forbidden = await client.post(
            top_up, data={"csrf_token": _csrf, "amount": "5", "reference": "TR-2"}
        )
        assert forbidden.status_code in (403, 404)
