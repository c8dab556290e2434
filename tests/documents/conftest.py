"""The Peppol rules are compiled once per test session and shared by every test that validates.

They live outside the repository (``VOLTFLOW_PEPPOL_RULES``, by default ``../shared/peppol``
next to the checkout). Missing, their tests are skipped, except in CI (``CI`` set), where they
fail the run: an e-invoice nobody validated must not pass for one that was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voltflow.config import Settings
from voltflow.documents.peppol import PeppolValidator, RulesMissing, validator

IN_CI = bool(os.environ.get("CI"))
RULES: Path = Settings.from_env().peppol_rules


@pytest.fixture(scope="session")
def peppol() -> PeppolValidator:
    try:
        return validator(RULES)
    except RulesMissing as exc:
        if IN_CI:
            pytest.fail(f"{exc}: the Peppol rules are mandatory in CI")
        pytest.skip(f"the Peppol rules are missing: {exc}")
