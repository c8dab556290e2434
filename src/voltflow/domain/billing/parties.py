"""What a document needs to know of whom it is issued to or paid to, and the checks on it: a
postal address, a Peppol participant id (``scheme:identifier``, ISO 6523: Belgian companies
are ``0208:`` and their enterprise number), a bank account.

A Belgian company with a VAT number receives its e-invoices on Peppol under its enterprise
number unless it says otherwise: ``default_peppol_id`` gives that id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from voltflow.domain.vat import VatNumberError, belgian_vat_number

# ISO 6523 ICD: four digits; the identifier after it, as the Peppol policy for identifiers
# allows it (no spaces, at most 50 characters).
_PEPPOL = re.compile(r"^(\d{4}):([A-Za-z0-9][A-Za-z0-9.\-_/+]{0,49})$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_POSTAL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{0,15}$")
BELGIAN_ENTERPRISE = "0208"


class BillingDetailsError(ValueError):
    """A billing detail that cannot be: ``field`` names it, ``reason`` says what is wrong
    (``form``, ``checksum``, ``length``, ``country``, ``bic_country``), ``value`` what was
    given."""

    def __init__(self, field: str, reason: str, value: str, message: str = "") -> None:
        super().__init__(message or f"{field}: {reason} ({value!r})")
        self.field = field
        self.reason = reason
        self.value = value


def default_peppol_id(vat_number: str | None) -> str | None:
    """``0208:`` and the enterprise number of a Belgian VAT number; None for any other."""
    if not vat_number:
        return None
    try:
        standard = belgian_vat_number(vat_number)
    except VatNumberError:
        return None
    return f"{BELGIAN_ENTERPRISE}:{standard[2:]}"


def peppol_id(value: str) -> str:
    """The participant id in its usual form (scheme, colon, identifier); refuses one not of
    the form ``scheme:id``, and a Belgian enterprise number (``0208``) whose check digits are
    wrong."""
    text = value.strip()
    found = _PEPPOL.match(text)
    if found is None:
        raise BillingDetailsError("peppol_id", "form", value)
    scheme, identifier = found.groups()
    if scheme == BELGIAN_ENTERPRISE:
        try:
            identifier = belgian_vat_number(identifier)[2:]
        except VatNumberError as exc:
            raise BillingDetailsError("peppol_id", exc.reason, value) from exc
    return f"{scheme}:{identifier}"


def country_code(value: str) -> str:
    text = value.strip().upper()
    if not _COUNTRY.match(text):
        raise BillingDetailsError("country", "form", value)
    return text


def postal_code(value: str) -> str:
    text = value.strip()
    if not _POSTAL_CODE.match(text):
        raise BillingDetailsError("postal_code", "form", value)
    return text


@dataclass(frozen=True, slots=True)
class BankAccount:
    iban: str  # compact, upper case
    bic: str | None


def bank_account(iban: str, bic: str | None = None, *, field: str = "iban") -> BankAccount:
    """An IBAN (and the BIC of its bank, when given: of the IBAN's country), checked as the
    contracts' mandates are (``schwifty``)."""
    try:
        parsed = IBAN(iban)
    except SchwiftyException as exc:
        raise BillingDetailsError(field, "iban", iban, f"IBAN {iban!r}: {exc}") from exc
    bic_text: str | None = None
    if bic:
        try:
            parsed_bic = BIC(bic)
        except SchwiftyException as exc:
            raise BillingDetailsError("bic", "bic", bic, f"BIC {bic!r}: {exc}") from exc
        if parsed_bic.country_code != parsed.country_code:
            raise BillingDetailsError("bic", "bic_country", bic)
        bic_text = str(parsed_bic)
    elif parsed.bic is not None:
        bic_text = str(parsed.bic)
    return BankAccount(parsed.compact, bic_text)
