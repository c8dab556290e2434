"""OCPP 1.6J frames as literal JSON text, and the message mix a charging station sends.

Frames are built with f-strings, not a JSON library or the ``ocpp`` package, so that building one
costs the load generator next to nothing. Every timestamp is a station's own clock: it moves one
second per message, so no two meter readings or transaction starts of a station collide.
"""

from __future__ import annotations

import time

ID_TAG = "BENCHTAG"
# 2026-11-22T00:00:00Z: the station clocks start here.
EPOCH = 1795305600


def station_id(n: int) -> str:
    return f"BENCH-{n:05d}"


def _ts(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH + second))


def boot(uid: str) -> bytes:
    return (
        f'[2,"{uid}","BootNotification",{{"chargePointVendor":"VoltflowBench",'
        f'"chargePointModel":"SimAC22","chargePointSerialNumber":"SIM-{uid}",'
        f'"firmwareVersion":"1.0.0"}}]'
    ).encode()


def heartbeat(uid: str) -> bytes:
    return f'[2,"{uid}","Heartbeat",{{}}]'.encode()


def status(uid: str, status: str, second: int) -> bytes:
    return (
        f'[2,"{uid}","StatusNotification",{{"connectorId":1,"errorCode":"NoError",'
        f'"status":"{status}","timestamp":"{_ts(second)}"}}]'
    ).encode()


def authorize(uid: str) -> bytes:
    return f'[2,"{uid}","Authorize",{{"idTag":"{ID_TAG}"}}]'.encode()


def start_transaction(uid: str, meter_wh: int, second: int) -> bytes:
    return (
        f'[2,"{uid}","StartTransaction",{{"connectorId":1,"idTag":"{ID_TAG}",'
        f'"meterStart":{meter_wh},"timestamp":"{_ts(second)}"}}]'
    ).encode()


def stop_transaction(uid: str, transaction_id: int, meter_wh: int, second: int) -> bytes:
    return (
        f'[2,"{uid}","StopTransaction",{{"transactionId":{transaction_id},"idTag":"{ID_TAG}",'
        f'"meterStop":{meter_wh},"timestamp":"{_ts(second)}","reason":"Local"}}]'
    ).encode()


def meter_values(uid: str, transaction_id: int | None, meter_wh: int, second: int) -> bytes:
    """Three sampled values, as a typical AC station sends every 15–60 s while charging."""
    tx = f'"transactionId":{transaction_id},' if transaction_id is not None else ""
    return (
        f'[2,"{uid}","MeterValues",{{"connectorId":1,{tx}"meterValue":[{{'
        f'"timestamp":"{_ts(second)}","sampledValue":['
        f'{{"value":"{meter_wh}","context":"Sample.Periodic",'
        f'"measurand":"Energy.Active.Import.Register","location":"Outlet","unit":"Wh"}},'
        f'{{"value":"7360","context":"Sample.Periodic","measurand":"Power.Active.Import",'
        f'"location":"Outlet","unit":"W"}},'
        f'{{"value":"32.0","context":"Sample.Periodic","measurand":"Current.Import",'
        f'"phase":"L1","location":"Outlet","unit":"A"}}]}}]}}]'
    ).encode()


# One charging session, repeated: 20 messages, 60 % MeterValues.
CYCLE: tuple[str, ...] = (
    "Heartbeat",
    "Status:Preparing",
    "Authorize",
    "StartTransaction",
    "Status:Charging",
    *("MeterValues",) * 6,
    "Heartbeat",
    *("MeterValues",) * 6,
    "StopTransaction",
    "Status:Available",
)


class Script:
    """A station walking through :data:`CYCLE`; ``answer`` takes the server's reply to the frame
    :meth:`next` gave last (the transaction id comes from the StartTransaction answer)."""

    __slots__ = ("meter_wh", "seq", "step", "transaction_id")

    def __init__(self) -> None:
        self.seq = 0
        self.step = 0
        self.meter_wh = 1000
        self.transaction_id: int | None = None

    def next(self) -> bytes:
        self.seq += 1
        seq = self.seq
        uid = str(seq)
        kind = CYCLE[self.step]
        self.step = (self.step + 1) % len(CYCLE)
        if kind == "MeterValues":
            self.meter_wh += 250
            return meter_values(uid, self.transaction_id, self.meter_wh, seq)
        if kind == "Heartbeat":
            return heartbeat(uid)
        if kind.startswith("Status:"):
            return status(uid, kind[7:], seq)
        if kind == "Authorize":
            return authorize(uid)
        if kind == "StartTransaction":
            self.transaction_id = None
            return start_transaction(uid, self.meter_wh, seq)
        assert kind == "StopTransaction"
        tx = self.transaction_id if self.transaction_id is not None else seq
        return stop_transaction(uid, tx, self.meter_wh, seq)

    def expects_transaction_id(self) -> bool:
        return CYCLE[self.step - 1] == "StartTransaction"

    def answer(self, raw: bytes) -> None:
        if self.expects_transaction_id():
            marker = raw.find(b'"transactionId":')
            if marker >= 0:
                end = marker + 16
                while end < len(raw) and raw[end : end + 1].isdigit():
                    end += 1
                digits = raw[marker + 16 : end]
                if digits:
                    self.transaction_id = int(digits)
