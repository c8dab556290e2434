from voltflow.bootstrap import Platform


async def test_platform_starts(platform: Platform) -> None:
    new = await platform.stations.add("CP-1", "password-0123456789")
    assert new.record.id == "CP-1"
