"""Station simulator: OCPP 1.6J charge points, built on the ``ocpp`` package's client, that boot,
heartbeat, charge with meter values, survive lost connections and answer every remote command the
platform sends. For demos, commissioning rehearsals and load tests.

``simulate(url, ["SIM-1", "SIM-2"], duration=600)`` runs a fleet that charges by itself;
:class:`SimulatedStation` is one station, driven step by step (as the tests do). A station
misbehaves on request (``StationConfig``'s faulted connectors, failing firmware updates, a wrong
serial number, an offline spell for good; ``fault``, ``recover``, ``go_offline`` while it runs),
for commissioning rehearsals and for the platform's monitoring."""

from voltflow.simulator._common import SessionRejected, SimulatorError
from voltflow.simulator._config import Fault, Heals, StationConfig
from voltflow.simulator._runner import simulate
from voltflow.simulator._state import Transaction, station_url
from voltflow.simulator._station import SimulatedStation

__all__ = [
    "Fault",
    "Heals",
    "SessionRejected",
    "SimulatedStation",
    "SimulatorError",
    "StationConfig",
    "Transaction",
    "simulate",
    "station_url",
]
