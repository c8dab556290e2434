import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.emaid import check_character, parse_emaid

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.mark.parametrize(
    ("body", "check"),
    [
        # The reference vectors published with the eMI³ check-digit algorithm.
        ("NN123ABCDEFGHI", "T"),
        ("FRXYZ123456789", "2"),
        ("ITA1B2C3E4F5G6", "4"),
        ("ESZU8WOX834H1D", "R"),
        ("PT73902837ABCZ", "Z"),
        ("DE83DUIEN83QGZ", "D"),
        ("DE83DUIEN83ZGQ", "M"),
        ("DE8AA001234567", "0"),
    ],
)
def test_reference_check_characters(body: str, check: str) -> None:
    assert check_character(body) == check


@pytest.mark.parametrize(
    "text", ["be-vfl-c00000123", "BEVFLC00000123", "BE-VFL-C00000123-U", "BEVFLC00000123U"]
)
def test_forms_parse_to_one_id(text: str) -> None:
    emaid = parse_emaid(text)
    assert str(emaid) == "BE-VFL-C00000123-U"
    assert emaid.compact == "BEVFLC00000123U"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("BE-VFL-C00000123-X", "should be U"),
        ("B1-VFL-C00000123", "not an eMAID"),
        ("BE-VFLC00000123", "not an eMAID"),
        ("BE-VFL-C0000012", "not an eMAID"),
    ],
)
def test_bad_ids_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_emaid(text)


bodies = st.text(alphabet=ALNUM, min_size=14, max_size=14)


@given(bodies, st.integers(0, 13), st.sampled_from(ALNUM))
def test_any_single_character_error_is_caught(body: str, i: int, ch: str) -> None:
    changed = body[:i] + ch + body[i + 1 :]
    if changed != body:
        assert check_character(changed) != check_character(body)


@given(bodies, st.integers(0, 12))
def test_swapping_neighbours_is_caught(body: str, i: int) -> None:
    swapped = body[:i] + body[i + 1] + body[i] + body[i + 2 :]
    if swapped != body:
        assert check_character(swapped) != check_character(body)
