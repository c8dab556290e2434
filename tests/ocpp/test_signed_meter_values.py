"""Signed meter values (OCPP 1.6 SampledValue format SignedData, OCMF from Eichrecht stations), as
literal frames over a real socket: answered, stored as received beside the numbers, linked to
their session; what is neither a number nor SignedData is still refused."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests import ocmf_records as rec
from tests.ocpp.support import RawStation, add_station, fresh_rows, iso, raw_station
from voltflow.bootstrap import Platform
from voltflow.store.tables import meter_values, signed_meter_values

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BOOT = {"chargePointVendor": "ACME", "chargePointModel": "Wallbox Pro 22"}
BEGIN = rec.as_hex(rec.begin_record())
END = rec.as_hex(rec.end_record())


def at(minutes: float) -> str:
    return iso(T0 + timedelta(minutes=minutes))


def signed(value: str, context: str | None = None) -> dict[str, Any]:
    sv = {"value": value, "format": "SignedData", "measurand": "Energy.Active.Import.Register"}
    if context:
        sv["context"] = context
    return sv


def register(wh: int, context: str) -> dict[str, Any]:
    return {
        "value": str(wh),
        "context": context,
        "format": "Raw",
        "measurand": "Energy.Active.Import.Register",
        "unit": "Wh",
    }


async def begin(st: RawStation) -> int:
    await st.result("BootNotification", BOOT)
    answer = await st.result(
        "StartTransaction",
        {"connectorId": 1, "idTag": "04A2BC11", "meterStart": 1234560, "timestamp": at(0)},
    )
    transaction_id: int = answer["transactionId"]
    return transaction_id


async def stored_signed(platform: Platform) -> list[dict[str, Any]]:
    return await fresh_rows(
        platform, select(signed_meter_values).order_by(signed_meter_values.c.id)
    )


async def numeric_count(platform: Platform) -> int:
    rows = await fresh_rows(platform, select(func.count().label("n")).select_from(meter_values))
    return int(rows[0]["n"])


async def test_meter_values_with_a_signed_value_beside_the_numbers(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-EICH")
    async with raw_station(ocpp_url, "CP-EICH") as st:
        tx = await begin(st)
        answer = await st.call(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": tx,
                "meterValue": [
                    {
                        "timestamp": at(0),
                        "sampledValue": [
                            register(1234560, "Transaction.Begin"),
                            signed(BEGIN, "Transaction.Begin"),
                            {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
                        ],
                    }
                ],
            },
        )
        assert answer[0] == 3 and answer[2] == {}, answer
    session = await platform.sessions.get(tx)
    assert [(m.measurand, m.value) for m in session.meter_values] == [
        ("Energy.Active.Import.Register", 1234560),
        ("Power.Active.Import", 7200),
    ]
    [row] = await stored_signed(platform)
    assert row["data"] == BEGIN  # exactly as sent
    assert (row["station_id"], row["session_id"], row["evse_id"], row["connector_id"]) == (
        "CP-EICH",
        tx,
        1,
        1,
    )
    assert (row["format"], row["context"], row["message"], row["encoding"]) == (
        "SignedData",
        "Transaction.Begin",
        "MeterValues",
        "hex",
    )
    assert row["sampled_at"] == T0
    assert row["note"] is None
    [view] = session.signed_meter_values
    assert view.session_start is True and view.session_end is False
    assert view.ocmf.meter_serial == rec.METER_SERIAL
    assert str(view.ocmf.readings[0].value) == "1234.56"


async def test_a_stop_with_signed_begin_and_end_in_its_transaction_data(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-EICH")
    stop = {
        "meterStop": 1246060,
        "timestamp": at(40),
        "reason": "EVDisconnected",
        "transactionData": [
            {
                "timestamp": at(0),
                "sampledValue": [
                    register(1234560, "Transaction.Begin"),
                    signed(BEGIN, "Transaction.Begin"),
                ],
            },
            {
                "timestamp": at(40),
                "sampledValue": [
                    register(1246060, "Transaction.End"),
                    signed(END, "Transaction.End"),
                ],
            },
        ],
    }
    async with raw_station(ocpp_url, "CP-EICH") as st:
        tx = await begin(st)
        answer = await st.call("StopTransaction", {**stop, "transactionId": tx})
        assert answer[0] == 3, answer
        # The station did not get the answer and sends the stop again, with a new message id.
        again = await st.call("StopTransaction", {**stop, "transactionId": tx})
        assert again[0] == 3, again
    session = await platform.sessions.get(tx)
    assert (session.meter_stop_wh, session.energy_wh, session.stop_reason) == (
        1246060,
        11500,
        "EVDisconnected",
    )
    rows = await stored_signed(platform)
    assert [(r["data"], r["context"], r["session_id"], r["message"]) for r in rows] == [
        (BEGIN, "Transaction.Begin", tx, "StopTransaction"),
        (END, "Transaction.End", tx, "StopTransaction"),
    ]
    assert await numeric_count(platform) == 2
    views = session.signed_meter_values
    assert [(v.session_start, v.session_end) for v in views] == [(True, False), (False, True)]
    assert [v.ocmf.readings[0].transaction for v in views] == ["B", "E"]


async def test_a_signed_value_sent_before_its_transaction_joins_it_at_the_stop(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-EICH")
    async with raw_station(ocpp_url, "CP-EICH") as st:
        tx = await begin(st)
        # Signed at the start, sent before the station had its transaction id.
        await st.result(
            "MeterValues",
            {
                "connectorId": 1,
                "meterValue": [
                    {"timestamp": at(0), "sampledValue": [signed(BEGIN, "Transaction.Begin")]}
                ],
            },
        )
        assert [r["session_id"] for r in await stored_signed(platform)] == [None]
        await st.result(
            "StopTransaction",
            {
                "transactionId": tx,
                "meterStop": 1246060,
                "timestamp": at(40),
                "transactionData": [
                    {"timestamp": at(0), "sampledValue": [signed(BEGIN, "Transaction.Begin")]},
                    {"timestamp": at(40), "sampledValue": [signed(END, "Transaction.End")]},
                ],
            },
        )
    rows = await stored_signed(platform)
    assert [(r["data"], r["session_id"], r["message"]) for r in rows] == [
        (BEGIN, tx, "MeterValues"),
        (END, tx, "StopTransaction"),
    ]


async def test_a_stop_of_an_unknown_transaction_keeps_its_signed_values(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-EICH")
    async with raw_station(ocpp_url, "CP-EICH") as st:
        await st.result("BootNotification", BOOT)
        await st.result(
            "StopTransaction",
            {
                "transactionId": 424242,
                "meterStop": 1246060,
                "timestamp": at(40),
                "transactionData": [
                    {"timestamp": at(40), "sampledValue": [signed(END, "Transaction.End")]}
                ],
            },
        )
    [row] = await stored_signed(platform)
    assert (row["data"], row["session_id"], row["evse_id"]) == (END, None, None)


@pytest.mark.parametrize(
    ("value", "encoding", "note"),
    [
        (rec.as_hex("OCMF|{not json}|{}"), "hex", "OCMF record could not be decoded"),
        ("EDL40;signed;3F2A", None, "not an OCMF record"),
        (rec.as_wrapper(rec.end_record()), "json+base64", None),
    ],
)
async def test_whatever_a_signed_block_holds_it_is_kept_as_received(
    platform: Platform, ocpp_url: str, value: str, encoding: str | None, note: str | None
) -> None:
    await add_station(platform, "CP-EICH")
    async with raw_station(ocpp_url, "CP-EICH") as st:
        tx = await begin(st)
        await st.result(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": tx,
                "meterValue": [{"timestamp": at(40), "sampledValue": [signed(value)]}],
            },
        )
    [row] = await stored_signed(platform)
    assert (row["data"], row["encoding"], row["session_id"]) == (value, encoding, tx)
    if note is None:
        assert row["note"] is None
        assert row["public_key"] == rec.PUBLIC_KEY
    else:
        assert row["note"].startswith(note)
        assert row["public_key"] is None
    [view] = (await platform.sessions.get(tx)).signed_meter_values
    assert (view.ocmf is not None) == (note is None)


@pytest.mark.parametrize(
    ("sampled", "error"),
    [
        ({"value": BEGIN, "format": "Raw"}, "PropertyConstraintViolation"),
        ({"value": "OCMF|{}|{}"}, "PropertyConstraintViolation"),
        ({"value": BEGIN, "format": "Signed"}, "PropertyConstraintViolation"),
    ],
)
async def test_what_is_neither_a_number_nor_signed_data_is_refused(
    platform: Platform, ocpp_url: str, sampled: dict[str, Any], error: str
) -> None:
    await add_station(platform, "CP-EICH")
    async with raw_station(ocpp_url, "CP-EICH") as st:
        tx = await begin(st)
        answer = await st.call(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": tx,
                "meterValue": [
                    {"timestamp": at(5), "sampledValue": [signed(END), sampled]},
                ],
            },
        )
        assert answer[0] == 4 and answer[2] == error, answer
        await st.heartbeat()
    # Refused whole: not even the signed value beside it is kept.
    assert await stored_signed(platform) == []
    assert await numeric_count(platform) == 0


async def test_a_block_holding_a_nul_character_is_kept(platform: Platform, ocpp_url: str) -> None:
    # PostgreSQL's text holds no NUL: the block is kept with it written as JSON writes it.
    await add_station(platform, "CP-EICH")
    async with raw_station(ocpp_url, "CP-EICH") as st:
        tx = await begin(st)
        await st.send_raw(
            f'[2,"nul-1","MeterValues",{{"connectorId":1,"transactionId":{tx},"meterValue":'
            f'[{{"timestamp":"{at(5)}","sampledValue":[{{"value":"AP;0;3;\\u0000;XYZ",'
            '"format":"SignedData"}]}]}]'
        )
        answer = await st.recv()
        assert answer[:2] == [3, "nul-1"], answer
    [row] = await stored_signed(platform)
    assert row["data"] == "AP;0;3;\\u0000;XYZ"
    assert row["session_id"] == tx


HOSTILE = [
    pytest.param('OCMF|{"RD":[{"RV":' + "1" * 5000 + "}]}|{}", "plain", id="rv-5000-digits"),
    pytest.param('OCMF|{"GI":' + "9" * 5000 + ',"PG":"T1"}|{}', "plain", id="gi-5000-digits"),
    pytest.param(
        rec.as_hex(
            rec.record(
                rec.payload([{"TM": "0001-01-01T00:00:00,000+0200 S", "TX": "B", "RV": "1"}]),
                {"SD": "00"},
            )
        ),
        "hex",
        id="tm-year-1",
    ),
    pytest.param(
        rec.record(
            rec.payload([{"TM": "9999-12-31T23:59:59,000-0200 S", "TX": "E", "RV": "2"}]),
            {"SD": "00"},
        ),
        "plain",
        id="tm-year-9999",
    ),
]


@pytest.mark.parametrize(("value", "encoding"), HOSTILE)
async def test_a_hostile_signed_value_is_answered_and_kept_as_received(
    platform: Platform, ocpp_url: str, value: str, encoding: str
) -> None:
    await add_station(platform, "CP-EICH")
    async with raw_station(ocpp_url, "CP-EICH") as st:
        tx = await begin(st)
        sampled = [{"timestamp": at(40), "sampledValue": [signed(value, "Sample.Periodic")]}]
        await st.result(
            "MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": sampled}
        )
        stop = {"meterStop": 1246060, "timestamp": at(41), "transactionData": sampled}
        await st.result("StopTransaction", {"transactionId": tx, **stop})
    # (The stop's block, the same as the one stored already, is not stored twice.)
    [row] = await stored_signed(platform)
    assert (row["data"], row["encoding"], row["message"]) == (value, encoding, "MeterValues")
    session = await platform.sessions.get(tx)
    assert session.stopped_at is not None
    assert len(session.signed_meter_values) == 1
