"""What translating the console costs a page: the sessions list (fifty sessions, the console's
heaviest page by what it writes per row: times, durations, energy, types) rendered in Dutch,
French and English next to the same page before the console spoke any language but English.

The reference is the page's templates as they were at ``--reference`` (a commit before the
translations: read from git, nothing checked out) with the helpers they were rendered with then
(strftime times, ``f"{kWh:.3f} kWh"``, English type labels). The same fifty sessions render
through both, interleaved round by round in one process; each figure is the median time of one
render, and the ratio is against the reference:

    .venv/bin/python bench/render_cost.py [--rounds 7] [--renders 200] [--reference f39770b]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader

from voltflow.domain.access import Actor
from voltflow.domain.session_types import SessionType
from voltflow.domain.sessions import format_duration, format_kwh
from voltflow.i18n import use
from voltflow.ocpp.server import tune_gc
from voltflow.web.console.common import PAGE, P, can, templates

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = "src/voltflow/web/templates"
PAGES = ("base.html", "sessions.html")
TIMEZONE = "Europe/Brussels"
TYPES = ["normal", "split_billing", "whitelist", "invalid"]


def reference_templates(commit: str, into: Path) -> None:
    for name in PAGES:
        text = subprocess.run(
            ["git", "show", f"{commit}:{TEMPLATE_DIR}/{name}"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (into / name).write_text(text)


def sessions() -> list[dict[str, Any]]:
    start = datetime(2026, 1, 31, 8, 0, tzinfo=UTC)
    rows = []
    for i in range(PAGE):
        began = start + timedelta(minutes=37 * i)
        rows.append(
            {
                "id": i + 1,
                "station_id": f"CP-{i % 7:04d}",
                "evse_id": 1 + i % 2,
                "id_tag": f"04A2BC{i:04X}",
                "started_at": began,
                "stopped_at": began + timedelta(minutes=15 + i),
                "energy_wh": 3667 + 97 * i,
                "live_energy_wh": None,
                "stop_reason": "Local",
                "session_type": TYPES[i % 4],
                "type_reason": "",
            }
        )
    return rows


def context(actor: Actor) -> dict[str, Any]:
    """What both renders are given: the page's data and the frame's."""
    request = SimpleNamespace(url=SimpleNamespace(path="/sessions"))
    return {
        "request": request,
        "user": actor,
        "page": SimpleNamespace(items=sessions(), total=500),
        "offset": 0,
        "limit": PAGE,
        "filters": {"station_id": "", "id_tag": "", "state": ""},
        # The export links came after the translations (the reference ignores them).
        "export_query": "",
        "export_background_rows": 50_000,
        "csrf": "x" * 43,
        "csrf_field": "csrf_token",
        "now": datetime(2026, 1, 31, 20, 0, tzinfo=UTC),
        "nav": [],
        "flashes": [],
        "can": can,
        "P": P,
    }


def reference_helpers() -> dict[str, Any]:
    """The helpers the page was rendered with before the translations."""
    tz = ZoneInfo(TIMEZONE)

    def local(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        if value is None:
            return "–"
        if not isinstance(value, datetime):
            return value.strftime("%Y-%m-%d")
        return value.astimezone(tz).strftime(fmt)

    return {
        "local": local,
        "kwh": format_kwh,
        "duration": format_duration,
        "session_type": lambda v: SessionType(v).label if v else "–",
        "timezone": TIMEZONE,
    }


def translated_helpers(lang: str) -> dict[str, Any]:
    from voltflow.i18n import NAMES, formats, terms
    from voltflow.web.console.common import page_times

    return {
        "local": page_times(TIMEZONE),  # what the console gives its pages
        "kwh": formats.kwh,
        "duration": formats.duration,
        "session_type": terms.session_type,
        "timezone": TIMEZONE,
        "language": lang,
        "languages": list(NAMES.items()),
    }


def timed(render: Callable[[], str], renders: int) -> float:
    began = time.perf_counter()
    for _ in range(renders):
        render()
    return (time.perf_counter() - began) / renders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--renders", type=int, default=200)
    parser.add_argument("--reference", default="f39770b")
    args = parser.parse_args()

    actor = Actor(user_id=1, username="manager", memberships=())
    base = context(actor)
    with tempfile.TemporaryDirectory() as tmp:
        reference_templates(args.reference, Path(tmp))
        before_env = Environment(loader=FileSystemLoader(tmp), autoescape=True)
        before = before_env.get_template("sessions.html")
        after = templates.env.get_template("sessions.html")
        renders: dict[str, Callable[[], str]] = {
            "before (English only)": lambda: before.render({**base, **reference_helpers()})
        }
        for lang in ("en", "nl", "fr"):

            def render(lang: str = lang) -> str:
                with use(lang):
                    return after.render({**base, **translated_helpers(lang)})

            renders[f"translated, {lang}"] = render
        for render in renders.values():  # warm: templates compiled, catalogs read
            render()
        # The pages are served by `voltflow serve`, which collects garbage this way: without
        # it, a full collection now and then lands in whichever render is running.
        tune_gc()
        times: dict[str, list[float]] = {name: [] for name in renders}
        order = list(renders)
        for round_number in range(args.rounds):
            # Each round starts with another render: none always runs first, or after another.
            shift = round_number % len(order)
            for name in order[shift:] + order[:shift]:
                times[name].append(timed(renders[name], args.renders))
    reference = statistics.median(times["before (English only)"])
    best = min(times["before (English only)"])
    print(
        f"sessions list, {PAGE} rows: µs per render over {args.rounds} rounds, median and best"
        " (the best is the steadier on a busy machine)"
    )
    for name, values in times.items():
        median, least = statistics.median(values), min(values)
        print(
            f"  {name:24} {median * 1e6:8.0f} µs ×{median / reference:.2f}"
            f"   best {least * 1e6:8.0f} µs ×{least / best:.2f}"
        )


if __name__ == "__main__":
    main()
