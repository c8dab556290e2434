"""``voltflow command``: a remote command through the running server."""

from __future__ import annotations

import json
from typing import Any

import click

from voltflow.cli._common import fail
from voltflow.i18n import _


@click.command()
@click.argument("station_id")
@click.argument("action")
@click.option(
    "--payload", default=None, help="OCPP payload as a JSON object (default: the usual one)."
)
@click.option("--timeout", type=float, default=None, help="Seconds to wait for the station.")
@click.option(
    "--api-url", envvar="VOLTFLOW_API_URL", default="http://127.0.0.1:8000", show_default=True
)
@click.option("--api-key", envvar="VOLTFLOW_API_KEY", default=None, help="Or set VOLTFLOW_API_KEY.")
def command(
    station_id: str,
    action: str,
    payload: str | None,
    timeout: float | None,
    api_url: str,
    api_key: str | None,
) -> None:
    """Send a remote command (Reset, RemoteStartTransaction, …) through the running server."""
    import httpx

    from voltflow.ocpp.versions import remote_action

    try:
        action = remote_action(action)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    body: dict[str, Any] = {}
    if payload is not None:
        try:
            body["payload"] = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise fail(_("--payload is not valid JSON: %(error)s") % {"error": exc}) from exc
        if not isinstance(body["payload"], dict):
            raise fail(_("--payload must be a JSON object"))
    if timeout is not None:
        body["timeout"] = timeout
    if not api_key:
        raise fail(
            _(
                "an API key is needed: `voltflow apikey create USER`, "
                "then --api-key or VOLTFLOW_API_KEY"
            )
        )
    url = f"{api_url.rstrip('/')}/api/v1/stations/{station_id}/commands/{action}"
    try:
        response = httpx.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=(timeout or 30) + 10,
        )
    except httpx.HTTPError as exc:
        raise fail(
            _("cannot reach the server at %(url)s: %(error)s") % {"url": api_url, "error": exc}
        ) from exc
    data = response.json() if response.headers.get("content-type", "").endswith("json") else {}
    if response.status_code != 200:
        raise fail(data.get("detail") or data.get("title") or f"HTTP {response.status_code}")
    click.echo(json.dumps(data.get("payload", data), indent=2))
