"""The stations' repository, on both databases."""

from __future__ import annotations

from voltflow.bootstrap import Platform
from voltflow.domain.station_keys import verify_station_password
from voltflow.domain.stations import Registration
from voltflow.store.stations import Admission


async def test_admission_reads_what_the_handshake_needs(platform: Platform) -> None:
    repo = platform.stations.repo
    assert await repo.admission("NOWHERE-1") is None
    await platform.stations.add("CP-1", "station-pass-0001")
    admission = await repo.admission("CP-1")
    assert admission is not None
    assert (admission.registration, admission.lenient) == (Registration.ACCEPTED, False)
    assert verify_station_password("station-pass-0001", admission.password_hash)

    await repo.update("CP-1", registration=Registration.REJECTED, lenient=True, password=None)
    assert await repo.admission("CP-1") == Admission(None, Registration.REJECTED, True)
