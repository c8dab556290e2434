"""The sessions list as a file: the columns the console's sessions page shows, in its order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from voltflow.domain.records import Session
from voltflow.exports.columns import Column, Kind
from voltflow.i18n import _, terms


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def session_columns(now: datetime) -> list[Column[Session]]:
    """A session still charging has no end; its duration and energy are those so far (at
    ``now``, and its last meter reading), as the page shows them."""

    def duration(s: Session) -> timedelta:
        return _aware(s.stopped_at or now) - _aware(s.started_at)

    def energy(s: Session) -> int | None:
        return s.energy_wh if s.energy_wh is not None else s.live_energy_wh

    return [
        Column("started_at", lambda: _("Start"), Kind.DATETIME, lambda s: s.started_at),
        Column("stopped_at", lambda: _("End"), Kind.DATETIME, lambda s: s.stopped_at),
        Column("station_id", lambda: _("Station"), Kind.TEXT, lambda s: s.station_id),
        Column("connector", lambda: _("Connector"), Kind.INTEGER, lambda s: s.evse_id),
        Column("id_tag", lambda: _("Token"), Kind.TEXT, lambda s: s.id_tag),
        Column("duration", lambda: _("Duration"), Kind.DURATION, duration),
        Column("energy", lambda: _("Energy"), Kind.KWH, energy),
        Column("stop_reason", lambda: _("Stop reason"), Kind.TEXT, lambda s: s.stop_reason),
        Column(
            "session_type",
            lambda: _("Type"),
            Kind.TEXT,
            lambda s: s.session_type,
            display=terms.session_type,
        ),
    ]


def export_filename(kind: str, extension: str, now: datetime) -> str:
    """``sessions-20261205-1412.csv``: what and when, in UTC."""
    return f"{kind}-{now.astimezone(UTC):%Y%m%d-%H%M}.{extension}"
