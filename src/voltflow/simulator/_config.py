"""What a simulated station is told to be (:class:`StationConfig`) and the OCPP configuration keys
it keeps, as GetConfiguration and ChangeConfiguration see them (:class:`Configuration`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
VOLTAGE = "Voltage"
# What the simulated meter can measure; MeterValuesSampledData may pick among these.
SUPPORTED_MEASURANDS = (ENERGY, POWER, CURRENT, VOLTAGE)
FEATURE_PROFILES = "Core,FirmwareManagement,LocalAuthListManagement,RemoteTrigger"


class Heals(enum.StrEnum):
    """What ends a simulated connector fault: a reset (soft or hard), a hard reset only, an
    UnlockConnector, or nothing the central system can send."""

    RESET = "reset"
    HARD_RESET = "hard-reset"
    UNLOCK = "unlock"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class Fault:
    """A connector fault as the station reports it (StatusNotification Faulted with these
    codes), and what ends it."""

    error_code: str = "GroundFailure"
    vendor_error_code: str | None = "SIM-E42"
    info: str | None = None
    heals: Heals = Heals.NEVER

    def __post_init__(self) -> None:
        if self.error_code not in ERROR_CODES or self.error_code == "NoError":
            raise ValueError(f"error_code: one of {', '.join(sorted(ERROR_CODES - {'NoError'}))}")
        if self.vendor_error_code is not None and len(self.vendor_error_code) > 50:
            raise ValueError("vendor_error_code: at most 50 characters")
        if self.info is not None and len(self.info) > 50:
            raise ValueError("info: at most 50 characters")

    def healed_by_reset(self, kind: str | None) -> bool:
        """``kind``: Soft or Hard, the reset that rebooted the station; None for a reboot of its
        own (a firmware update's)."""
        return (self.heals is Heals.RESET and kind is not None) or (
            self.heals is Heals.HARD_RESET and kind == "Hard"
        )


# OCPP 1.6 ChargePointErrorCode.
ERROR_CODES = frozenset(
    {
        "ConnectorLockFailure",
        "EVCommunicationError",
        "GroundFailure",
        "HighTemperature",
        "InternalError",
        "LocalListConflict",
        "NoError",
        "OtherError",
        "OverCurrentFailure",
        "PowerMeterFailure",
        "PowerSwitchFailure",
        "ReaderFailure",
        "ResetFailure",
        "UnderVoltage",
        "OverVoltage",
        "WeakSignal",
    }
)
# How a simulated firmware update fails, when it is told to: in its download or its install.
FIRMWARE_FAILURES = frozenset({"download", "install"})


@dataclass(frozen=True, slots=True)
class StationConfig:
    """How a simulated station behaves. Times are in seconds and may be fractions (tests use short
    ones); OCPP's own configuration keys show them rounded where the protocol wants integers."""

    id_tag: str = "DEMO0001"
    # None: the interval the central system gives in its BootNotification answer.
    heartbeat_interval: float | None = None
    # MeterValueSampleInterval; 0 sends no periodic meter values.
    meter_interval: float = 15
    # Length of the sessions the station starts by itself or on a remote start; 0: until stopped.
    session_seconds: float = 120
    idle_seconds: float = 30
    power_kw: float = 11
    connectors: int = 1
    seed: int = 0
    # Relative spread applied to session length, idle time and power (0.1 = ±10 %).
    jitter: float = 0.1
    # Start sessions by themselves: idle, charge, idle, charge...
    auto_sessions: bool = False
    # Finishing → Available: the driver unplugging after a stop.
    unplug_seconds: float = 2.0
    reboot_seconds: float = 2.0
    # Pause between two firmware (or diagnostics) status notifications.
    firmware_step_seconds: float = 2.0
    diagnostics_seconds: float = 2.0
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    connect_timeout: float = 10.0
    response_timeout: float = 30.0
    # Send BootNotification again after a dropped connection, not only after a (re)boot.
    boot_on_reconnect: bool = False
    vendor: str = "Voltflow"
    model: str = "Simulator"
    firmware_version: str = "1.0.0"
    serial_number: str | None = None
    # Energy register at power-on; None draws one from the seed.
    meter_start_wh: int | None = None
    # Messages kept while offline; past this, the oldest meter values are dropped first.
    max_queue: int = 10_000
    measurands: tuple[str, ...] = field(default=(ENERGY, POWER))
    # Misbehaving on request (commissioning rehearsals, the platform's monitoring): connectors
    # that are Faulted from power-on, with ``fault``'s codes (``SimulatedStation.fault`` and
    # ``recover`` do the same while it runs); firmware updates that fail in their ``download``
    # or ``install``; online this many seconds, then offline for good (``go_offline``,
    # ``come_back``). A wrong serial number at boot is ``serial_number``.
    faulted_connectors: tuple[int, ...] = ()
    fault: Fault = field(default_factory=Fault)
    firmware_fails: str | None = None
    offline_after: float | None = None

    def __post_init__(self) -> None:
        if self.connectors < 1:
            raise ValueError("connectors: at least 1")
        for name in (
            "meter_interval",
            "session_seconds",
            "idle_seconds",
            "power_kw",
            "jitter",
            "unplug_seconds",
            "reboot_seconds",
            "firmware_step_seconds",
            "diagnostics_seconds",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must not be negative")
        if self.heartbeat_interval is not None and self.heartbeat_interval < 0:
            raise ValueError("heartbeat_interval: must not be negative")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter: between 0 and 1")
        if self.reconnect_min <= 0 or self.reconnect_max < self.reconnect_min:
            raise ValueError("reconnect_min > 0 and reconnect_max >= reconnect_min")
        if not 1 <= len(self.id_tag) <= 20:
            raise ValueError("id_tag: 1–20 characters (OCPP idTag)")
        if len(self.vendor) > 20 or len(self.model) > 20:
            raise ValueError("vendor and model: at most 20 characters (BootNotification)")
        if len(self.firmware_version) > 50:
            raise ValueError("firmware_version: at most 50 characters")
        unknown = set(self.measurands) - set(SUPPORTED_MEASURANDS)
        if unknown:
            raise ValueError(f"measurands: unsupported {', '.join(sorted(unknown))}")
        if any(not 1 <= c <= self.connectors for c in self.faulted_connectors):
            raise ValueError(f"faulted_connectors: connectors are 1–{self.connectors}")
        if self.firmware_fails is not None and self.firmware_fails not in FIRMWARE_FAILURES:
            raise ValueError("firmware_fails: download or install")
        if self.offline_after is not None and self.offline_after < 0:
            raise ValueError("offline_after: must not be negative")
        if self.serial_number is not None and not 1 <= len(self.serial_number) <= 25:
            raise ValueError("serial_number: 1–25 characters (BootNotification)")


class Kind(enum.Enum):
    INT = "int"
    BOOL = "bool"
    TEXT = "text"
    MEASURANDS = "measurands"


@dataclass(slots=True)
class Key:
    value: str
    kind: Kind = Kind.TEXT
    readonly: bool = False
    # Write-only keys (AuthorizationKey) are listed without their value.
    readable: bool = True


class ChangeStatus(enum.StrEnum):
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    NOT_SUPPORTED = "NotSupported"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _bool(value: bool) -> str:
    return "true" if value else "false"


class Configuration:
    """The station's OCPP 1.6 configuration keys (Core, LocalAuthListManagement, the security
    whitepaper's AuthorizationKey)."""

    def __init__(self, config: StationConfig, heartbeat: float, password: str | None) -> None:
        self.keys: dict[str, Key] = {
            "AllowOfflineTxForUnknownId": Key(_bool(False), Kind.BOOL),
            "AuthorizationCacheEnabled": Key(_bool(True), Kind.BOOL),
            "AuthorizationKey": Key(password or "", Kind.TEXT, readable=False),
            "AuthorizeRemoteTxRequests": Key(_bool(False), Kind.BOOL),
            "ClockAlignedDataInterval": Key("0", Kind.INT),
            "ConnectionTimeOut": Key("60", Kind.INT),
            "ConnectorPhaseRotation": Key("NotApplicable"),
            "GetConfigurationMaxKeys": Key("50", Kind.INT, readonly=True),
            "HeartbeatInterval": Key(_number(heartbeat), Kind.INT),
            "LocalAuthListEnabled": Key(_bool(True), Kind.BOOL),
            "LocalAuthListMaxLength": Key("1000", Kind.INT, readonly=True),
            "LocalAuthorizeOffline": Key(_bool(True), Kind.BOOL),
            "LocalPreAuthorize": Key(_bool(False), Kind.BOOL),
            "MeterValuesAlignedData": Key(ENERGY, Kind.MEASURANDS),
            "MeterValuesSampledData": Key(",".join(config.measurands), Kind.MEASURANDS),
            "MeterValueSampleInterval": Key(_number(config.meter_interval), Kind.INT),
            "NumberOfConnectors": Key(str(config.connectors), Kind.INT, readonly=True),
            "ResetRetries": Key("3", Kind.INT),
            "SecurityProfile": Key("1" if password else "0", Kind.INT, readonly=True),
            "SendLocalListMaxLength": Key("100", Kind.INT, readonly=True),
            "StopTransactionOnEVSideDisconnect": Key(_bool(True), Kind.BOOL),
            "StopTransactionOnInvalidId": Key(_bool(True), Kind.BOOL),
            "StopTxnAlignedData": Key("", Kind.MEASURANDS),
            "StopTxnSampledData": Key(ENERGY, Kind.MEASURANDS),
            "SupportedFeatureProfiles": Key(FEATURE_PROFILES, readonly=True),
            "TransactionMessageAttempts": Key("3", Kind.INT),
            "TransactionMessageRetryInterval": Key("10", Kind.INT),
            "UnlockConnectorOnEVSideDisconnect": Key(_bool(True), Kind.BOOL),
            "WebSocketPingInterval": Key("20", Kind.INT),
        }

    # -- reading -----------------------------------------------------------------------------
    def get(self, name: str) -> str:
        return self.keys[name].value

    def flag(self, name: str) -> bool:
        return self.keys[name].value.lower() == "true"

    def number(self, name: str) -> float:
        try:
            return float(self.keys[name].value)
        except ValueError:
            return 0.0

    def measurands(self, name: str) -> list[str]:
        return [m.strip() for m in self.keys[name].value.split(",") if m.strip()]

    def lookup(self, wanted: list[str] | None) -> tuple[list[dict[str, object]], list[str]]:
        """GetConfiguration: (configurationKey, unknownKey). Keys match case-insensitively, as
        OCPP's CiString does."""
        by_lower = {k.lower(): k for k in self.keys}
        names = wanted if wanted else list(self.keys)
        known: list[dict[str, object]] = []
        unknown: list[str] = []
        for name in names:
            real = by_lower.get(name.lower())
            if real is None:
                unknown.append(name)
                continue
            key = self.keys[real]
            entry: dict[str, object] = {"key": real, "readonly": key.readonly}
            if key.readable:
                entry["value"] = key.value
            known.append(entry)
        return known, unknown

    def snapshot(self) -> dict[str, str]:
        return {k: v.value for k, v in self.keys.items() if v.readable}

    # -- writing -----------------------------------------------------------------------------
    def change(self, name: str, value: str) -> tuple[ChangeStatus, str | None]:
        """ChangeConfiguration: the status, and the key's real name when it changed."""
        real = next((k for k in self.keys if k.lower() == name.lower()), None)
        if real is None:
            return ChangeStatus.NOT_SUPPORTED, None
        key = self.keys[real]
        if key.readonly:
            return ChangeStatus.REJECTED, None
        normalized = _validate(real, key.kind, value)
        if normalized is None:
            return ChangeStatus.REJECTED, None
        key.value = normalized
        return ChangeStatus.ACCEPTED, real

    def set(self, name: str, value: str) -> None:
        self.keys[name].value = value


def _validate(name: str, kind: Kind, value: str) -> str | None:
    value = value.strip()
    if kind is Kind.INT:
        try:
            number = int(value)
        except ValueError:
            return None
        return str(number) if number >= 0 else None
    if kind is Kind.BOOL:
        return value.lower() if value.lower() in ("true", "false") else None
    if kind is Kind.MEASURANDS:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if any(p not in SUPPORTED_MEASURANDS for p in parts):
            return None
        return ",".join(parts)
    if name == "AuthorizationKey" and not 8 <= len(value) <= 40:
        return None
    return value
