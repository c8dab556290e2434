import pytest

from voltflow.domain.vat import VatNumberError, belgian_vat_number


@pytest.mark.parametrize(
    ("written", "standard"),
    [
        ("BE0123456749", "BE0123456749"),
        ("be 0123.456.749", "BE0123456749"),
        ("0123456749", "BE0123456749"),
        ("123456749", "BE0123456749"),  # the old nine digits
        ("BE0403170701", "BE0403170701"),
        ("BE1000000021", "BE1000000021"),
    ],
)
def test_a_belgian_vat_number_in_its_standard_form(written: str, standard: str) -> None:
    assert belgian_vat_number(written) == standard


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("BE0123456789", "checksum"),
        ("BE0123456748", "checksum"),
        ("BE2123456749", "form"),
        ("BE01234567", "form"),
        ("NL0123456749", "form"),
        ("", "form"),
    ],
)
def test_a_wrong_vat_number_is_refused(written: str, reason: str) -> None:
    with pytest.raises(VatNumberError) as caught:
        belgian_vat_number(written)
    assert caught.value.reason == reason
