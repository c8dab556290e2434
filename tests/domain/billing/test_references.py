"""Belgian structured payment references: made, read back, and refused when mistyped."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.billing.references import (
    ReferenceError,
    parse_structured_reference,
    structured_reference,
)


@pytest.mark.parametrize(
    ("base", "written"),
    [
        (1234567890, "+++123/4567/89002+++"),  # 1234567890 mod 97 = 2
        (97, "+++000/0000/09797+++"),  # a multiple of 97 checks as 97, never 00
        (1, "+++000/0000/00101+++"),
        (9999999999, "+++999/9999/99948+++"),
    ],
)
def test_a_reference_carries_its_mod_97_check(base: int, written: str) -> None:
    assert structured_reference(base) == written


@pytest.mark.parametrize("base", [0, -1, 10**10])
def test_a_base_out_of_ten_digits_is_refused(base: int) -> None:
    with pytest.raises(ValueError, match="structured reference"):
        structured_reference(base)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("+++123/4567/89003+++", "checksum"),  # one check digit wrong
        ("+++123/4567/8900+++", "form"),  # eleven digits
        ("+++123/4567/89002+++ thanks", "form"),  # something else beside it
        ("+++000/0000/00000+++", "checksum"),
    ],
)
def test_a_mistyped_reference_is_refused_with_the_reason(typed: str, reason: str) -> None:
    with pytest.raises(ReferenceError) as caught:
        parse_structured_reference(typed)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "typed", ["+++123/4567/89002+++", "***123/4567/89002***", "123456789002", "123 4567 89002"]
)
def test_every_usual_writing_reads_as_the_same_reference(typed: str) -> None:
    assert parse_structured_reference(typed) == "+++123/4567/89002+++"


@given(st.integers(min_value=1, max_value=10**10 - 1))
def test_every_reference_made_reads_back(base: int) -> None:
    written = structured_reference(base)
    assert parse_structured_reference(written) == written
