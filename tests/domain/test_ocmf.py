"""Reading OCMF records out of SignedData values: every way stations wrap them, what a record says,
and what cannot be read (kept, with a note; never an exception)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests import ocmf_records as rec
from voltflow.domain.ocmf import (
    DEFAULT_SIGNATURE_ALGORITHM,
    OcmfError,
    TransparencyDataset,
    parse_ocmf,
    parse_reading_time,
    read_signed_value,
    transparency_xml,
    unwrap,
)

CET = timezone(timedelta(hours=1))
BEGIN = rec.begin_record()


@pytest.mark.parametrize(
    ("value", "encoding"),
    [
        pytest.param(BEGIN, "plain", id="plain"),
        pytest.param(f"  {BEGIN}\r\n", "plain", id="plain-padded"),
        pytest.param(rec.as_hex(BEGIN), "hex", id="hex-upper"),
        pytest.param(rec.as_hex(BEGIN).lower(), "hex", id="hex-lower"),
        pytest.param("0x" + rec.as_hex(BEGIN), "hex", id="hex-0x"),
        pytest.param(
            "\n".join(rec.as_hex(BEGIN)[i : i + 64] for i in range(0, 2000, 64)),
            "hex",
            id="hex-wrapped-lines",
        ),
        pytest.param(("\ufeff" + BEGIN).encode().hex(), "hex", id="hex-with-bom"),
        pytest.param(rec.as_base64(BEGIN), "base64", id="base64"),
        pytest.param(
            base64.urlsafe_b64encode(BEGIN.encode()).decode().rstrip("="),
            "base64",
            id="base64-urlsafe-unpadded",
        ),
        pytest.param(rec.as_wrapper(BEGIN), "json+base64", id="ocpp201-wrapper"),
        pytest.param(
            json.dumps({"signedMeterData": rec.as_hex(BEGIN)}), "json+hex", id="wrapper-hex"
        ),
    ],
)
def test_every_wrapping_yields_the_same_record(value: str, encoding: str) -> None:
    read = read_signed_value(value)
    assert read.note is None
    assert read.encoding == encoding
    assert read.ocmf == parse_ocmf(BEGIN)


def test_what_a_record_says() -> None:
    ocmf = parse_ocmf(BEGIN)
    assert (ocmf.format_version, ocmf.gateway_id, ocmf.gateway_serial, ocmf.gateway_version) == (
        "1.0",
        "ACME Wallbox Pro 22",
        "WB2210004417",
        "2.4.1",
    )
    assert ocmf.pagination == "T1742"
    assert (ocmf.meter_vendor, ocmf.meter_model, ocmf.meter_serial, ocmf.meter_firmware) == (
        "Phoenix Contact",
        "EEM-350-D-MCB",
        rec.METER_SERIAL,
        "1.3",
    )
    assert ocmf.identification_status is True
    assert ocmf.identification_level == "TRUSTED"
    assert ocmf.identification_flags == ("RFID_PLAIN", "OCPP_AUTH")
    assert (ocmf.identification_type, ocmf.identification_data) == ("ISO14443", "04A2BC11")
    assert (ocmf.charge_point_id_type, ocmf.charge_point_id) == ("EVSEID", "DE*ACM*E4417*1")
    assert ocmf.signature_algorithm == "ECDSA-secp256r1-SHA256"
    assert ocmf.signature_data == rec.SIGNATURE_BEGIN
    assert ocmf.missing == ()
    [reading] = ocmf.readings
    assert reading.time == "2025-03-01T13:00:00,000+0100 S"
    assert reading.at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert reading.time_status == "S"
    assert reading.transaction == "B"
    assert str(reading.value) == "1234.56"
    assert (reading.obis, reading.unit, reading.current_type) == ("1-b:1.8.0", "kWh", "AC")
    assert (reading.error_flags, reading.status) == ("", "G")
    assert ocmf.transactions == ("B",)


def test_the_payload_section_is_kept_exactly_as_signed() -> None:
    pretty = (
        BEGIN.replace('{"FV"', '{\n    "FV"')
        .replace(',"RD"', ',\n    "RD"')
        .replace("]}|", "]\n}|")
        .replace("|{", "|\n{")
    )
    ocmf = parse_ocmf(pretty)
    section = pretty[len("OCMF|") : pretty.rindex("|")]
    assert ocmf.payload_text == section
    assert ocmf.readings == parse_ocmf(BEGIN).readings


def test_a_reading_takes_what_it_leaves_out_from_the_one_before_but_never_its_value() -> None:
    ocmf = parse_ocmf(rec.both_record())
    begin, end = ocmf.readings
    assert ocmf.transactions == ("B", "E")
    assert (end.obis, end.unit, end.current_type, end.status) == ("1-b:1.8.0", "kWh", "AC", "G")
    assert (begin.value, end.value) == (Decimal("1234.56"), Decimal("1246.06"))
    event = parse_ocmf(
        rec.record(
            rec.payload([rec.reading("2025-03-01T13:00:00,000+0100 S", "B", "5.00"), {"TX": "X"}]),
            {"SD": "00"},
        )
    )
    assert event.readings[1].value is None
    assert event.readings[1].time == "2025-03-01T13:00:00,000+0100 S"


@pytest.mark.parametrize(
    ("written", "exact"),
    [
        ("1234.560", "1234.560"),
        ("0.2596", "0.2596"),
        ("12", "12"),
        ("1E+3", "1E+3"),
        ("-0.00", "-0.00"),
    ],
)
def test_reading_values_keep_every_digit_written(written: str, exact: str) -> None:
    text = rec.record(
        rec.payload([rec.reading("2025-03-01T13:00:00,000+0100 S", "B", written)]), {"SD": "00"}
    )
    assert str(parse_ocmf(text).readings[0].value) == exact


def test_signature_defaults_and_vendor_fields() -> None:
    text = rec.record(
        rec.payload([], XVendor={"nested": [1, 2]}, TT="Tarif|Nacht"), {"SD": "00", "XK": 1}
    )
    ocmf = parse_ocmf(text)
    assert ocmf.signature_algorithm == DEFAULT_SIGNATURE_ALGORITHM
    assert (ocmf.signature_encoding, ocmf.signature_mime_type) == ("hex", "application/x-der")
    assert ocmf.tariff_text == "Tarif|Nacht"  # a pipe inside a string does not end the section
    assert '"XVendor"' in ocmf.payload_text


@pytest.mark.parametrize(
    ("tm", "at", "state"),
    [
        ("2018-07-24T13:22:04,000+0200 S", datetime(2018, 7, 24, 11, 22, 4, tzinfo=UTC), "S"),
        ("2019-08-13T10:03:15,000+0000 I", datetime(2019, 8, 13, 10, 3, 15, tzinfo=UTC), "I"),
        (
            "2023-04-14T11:51:06.250+01:00 R",
            datetime(2023, 4, 14, 10, 51, 6, 250000, tzinfo=UTC),
            "R",
        ),
        ("2023-04-14T11:51:06,000+0000", datetime(2023, 4, 14, 11, 51, 6, tzinfo=UTC), None),
        ("2023-04-14T11:51:06,000 U", None, "U"),  # no offset: no instant
        ("yesterday S", None, "S"),
        # At the calendar's edges: no instant in UTC, the text and its state kept all the same.
        ("0001-01-01T00:00:00,000+0200 S", None, "S"),
        ("9999-12-31T23:59:59,000-0200 S", None, "S"),
    ],
)
def test_reading_times(tm: str, at: datetime | None, state: str | None) -> None:
    assert parse_reading_time(tm) == (at, state)
    found = parse_reading_time(tm)[0]
    assert found is None or found.tzinfo is UTC


def test_a_wrapper_brings_the_public_key() -> None:
    read = read_signed_value(rec.as_wrapper(BEGIN))
    assert read.public_key == rec.PUBLIC_KEY
    assert read.signing_method == "ECDSA-secp256r1-SHA256"
    assert read_signed_value(rec.as_wrapper(BEGIN, public_key=None)).public_key is None
    broken = read_signed_value(json.dumps({"signedMeterData": "zz", "publicKey": "AB01"}))
    assert (broken.ocmf, broken.public_key) == (None, "AB01")
    assert broken.note is not None


def test_a_record_lacking_mandatory_fields_is_decoded_with_a_note() -> None:
    body = rec.payload([])
    del body["PG"], body["RD"]
    read = read_signed_value(rec.record(body, {"SA": "ECDSA-secp256r1-SHA256"}))
    assert read.ocmf is not None
    assert read.ocmf.missing == ("PG", "RD", "SD")
    assert read.note == "OCMF record lacks PG, RD, SD"


READING = '{"TM":"2025-03-01T13:00:00,000+0100 S","TX":"B","RV":1.5,"RU":"kWh","ST":"G"}'


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("OCMF|{not json}|{}", "payload section is not JSON"),
        ('OCMF|{"PG":"T1"}', "no signature section after the payload"),
        ('OCMF|{"PG":"T1"}{"x":1}|{}', "no signature section after the payload"),
        ("OCMF|[1,2]|{}", "payload section is not a JSON object"),
        ('OCMF|{"PG":"T1"}|{"SD":"00"}|{"SD":"01"}', "signature section is not JSON"),
        ('OCMF|{"PG":"T1"}|"00"', "signature section is not a JSON object"),
        ('OCMF|{"RD":{"TM":"x"}}|{}', "RD is not a list of readings"),
        ('OCMF|{"RD":["x"]}|{}', "RD.0 is not a JSON object"),
        ('OCMF|{"RD":[{"RV":"many"}]}|{}', "RD.0.RV is not a number"),
        ('OCMF|{"RD":[{"RV":true}]}|{}', "RD.0.RV is not a number"),
        ('OCMF|{"RD":[{"RV":NaN}]}|{}', "NaN is not a JSON number"),
        (f'OCMF|{{"RD":[{READING},{{"TM":["x"]}}]}}|{{}}', "RD.1.TM is not a text"),
        ('OCMF|{"IS":"yes"}|{}', "IS is not true or false"),
        ('OCMF|{"IF":"RFID_PLAIN"}|{}', "IF is not a list of texts"),
        ('OCMF|{"MS":["A"]}|{}', "MS is not a text"),
        ("OCMF|" + "[" * 50_000, "nested too deeply"),
        ('OCMF|{"RD":[{"RV":' + "1" * 5000 + "}]}|{}", "payload section holds an unreadable"),
        ('OCMF|{"GI":' + "9" * 5000 + "}|{}", "payload section holds an unreadable number"),
        ('OCMF|{"PG":"T1"}|{"SD":' + "1" * 5000 + "}", "signature section holds an unreadable"),
    ],
)
def test_a_malformed_record_is_kept_with_the_reason(value: str, why: str) -> None:
    for wrapped in (value, rec.as_hex(value), rec.as_base64(value)):
        read = read_signed_value(wrapped)
        assert read.ocmf is None
        assert read.encoding in ("plain", "hex", "base64")
        assert read.note is not None and why in read.note, read.note
        assert "kept as received" in read.note
    with pytest.raises(OcmfError):
        parse_ocmf(value)


@pytest.mark.parametrize("tm", ["0001-01-01T00:00:00,000+0200", "9999-12-31T23:59:59,000-0200 S"])
def test_a_reading_dated_at_the_calendars_edge_is_read_without_an_instant(tm: str) -> None:
    value = rec.record(rec.payload([{"TM": tm, "TX": "B", "RV": "1.5"}]), {"SD": "00"})
    read = read_signed_value(value)
    assert read.ocmf is not None
    assert read.ocmf.readings[0].time == tm
    assert read.ocmf.readings[0].at is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "1234.5",
        "ABCDEF",  # hex, but of no OCMF text
        "FFFE00",  # hex of no UTF-8 text
        rec.as_base64("EDL40 signed reading"),
        "AP;0;3;ALCV3ABBBISHMA2RYFJ4P7CEQ3ATC4AQEIAQIM;BIHEIWSHAAA2W2V7OYYDCNQAAAABAAAA",
        '{"signedMeterData": 5}',
        '{"other": "json"}',
        "OCMF",
        "ocmf|{}|{}",
    ],
)
def test_what_holds_no_ocmf_record_is_kept_undecoded(value: str) -> None:
    read = read_signed_value(value)
    assert (read.encoding, read.ocmf) == (None, None)
    assert (
        read.note
        == "not an OCMF record (neither plain, hex nor base64): kept as received, undecoded"
    )
    assert unwrap(value) is None


# -- properties -------------------------------------------------------------------------------

texts = st.text(st.characters(codec="utf-8", exclude_characters="|"), max_size=20)
values = st.decimals(allow_nan=False, allow_infinity=False, places=4).filter(
    lambda d: abs(d) < Decimal(10) ** 9
)
readings = st.lists(
    st.fixed_dictionaries(
        {
            "TM": st.datetimes(
                min_value=datetime(2000, 1, 1),
                max_value=datetime(2099, 1, 1),
                timezones=st.just(CET),
            ).map(
                lambda t: t.strftime("%Y-%m-%dT%H:%M:%S,") + f"{t.microsecond // 1000:03d}+0100 S"
            ),
            "TX": st.sampled_from("BCXELRAPST"),
            "RV": values.map(str),
            "RU": st.sampled_from(["kWh", "Wh"]),
            "ST": st.sampled_from("GNTDRMXIOSEF"),
        }
    ),
    max_size=4,
)
records = st.builds(
    lambda rd, gi, ms, pg, sd: rec.record(rec.payload(rd, GI=gi, MS=ms, PG=pg), {"SD": sd}),
    readings,
    texts,
    texts,
    st.integers(0, 10**9).map(lambda n: f"T{n}"),
    st.binary(min_size=1, max_size=72).map(lambda b: b.hex().upper()),
)


@given(records, st.sampled_from([str, rec.as_hex, rec.as_base64, rec.as_wrapper]))
def test_any_record_reads_the_same_however_it_is_wrapped(text: str, wrap: object) -> None:
    assert callable(wrap)
    read = read_signed_value(wrap(text))
    assert read.note is None
    assert read.ocmf == parse_ocmf(text)
    body = json.loads(text[len("OCMF|") : text.rindex("|")], parse_float=Decimal)
    assert [str(r.value) for r in read.ocmf.readings] == [str(r["RV"]) for r in body["RD"]]
    assert (read.ocmf.gateway_id, read.ocmf.meter_serial, read.ocmf.pagination) == (
        body["GI"],
        body["MS"],
        body["PG"],
    )


@given(
    st.one_of(
        st.text(),
        st.text().map(lambda t: "OCMF|" + t),
        st.binary().map(bytes.hex),
        st.text().map(lambda t: rec.as_hex("OCMF|" + t)),
        st.text().map(lambda t: rec.as_base64("OCMF|" + t)),
        # Numbers of any length, reading times anywhere in the calendar.
        st.integers(1, 6000).map(lambda k: f'OCMF|{{"RD":[{{"RV":{"7" * k}}}]}}|{{}}'),
        st.builds(
            lambda t, hours: f"{t.year:04d}{t.strftime('-%m-%dT%H:%M:%S')},000{hours:+03d}00",
            st.datetimes(),
            st.integers(-23, 23),
        ).map(lambda tm: f'OCMF|{{"RD":[{{"TM":"{tm}"}}]}}|{{}}'),
    )
)
def test_reading_a_value_never_fails_and_always_says_what_it_found(value: str) -> None:
    read = read_signed_value(value)
    assert (read.ocmf is None) == (read.note is not None and "kept as received" in read.note)


def test_the_transparency_file_holds_each_record_as_signed_with_its_key() -> None:
    begin, end = rec.begin_record(), rec.end_record()
    text = transparency_xml(
        [
            TransparencyDataset("Transaction.Begin", 17, rec.as_hex(begin), None),
            TransparencyDataset("Transaction.End", 17, rec.as_wrapper(end), rec.PUBLIC_KEY),
            TransparencyDataset(None, 17, " EDL40;3F2A ", "q83vASNFZ4k="),
            TransparencyDataset("Other", None, "bad\x01block", "key\x00"),
        ]
    )
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<values>')
    values = ElementTree.fromstring(text.split("\n", 1)[1])
    assert [(v.get("transactionId"), v.get("context")) for v in values] == [
        ("1", "Transaction.Begin"),
        ("2", "Transaction.End"),
        ("3", "Signed value"),
        ("4", "Other"),
    ]
    signed = [v.find("signedData") for v in values]
    assert [(s.attrib, s.text) for s in signed if s is not None] == [
        ({"format": "OCMF", "encoding": "plain", "transactionId": "17"}, begin),
        ({"format": "OCMF", "encoding": "plain", "transactionId": "17"}, end),
        ({"encoding": "plain", "transactionId": "17"}, "EDL40;3F2A"),
        ({"encoding": "hex"}, b"bad\x01block".hex()),
    ]
    keys = [v.find("publicKey") for v in values]
    assert keys[0] is None and keys[3] is None
    assert keys[1] is not None and (keys[1].get("encoding"), keys[1].text) == (
        "hex",
        rec.PUBLIC_KEY,
    )
    assert keys[2] is not None and keys[2].get("encoding") == "base64"
    # The signed text is the element's whole content: nothing around it.
    assert f">{begin}</signedData>" in text
