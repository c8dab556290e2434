from voltflow.bootstrap import Platform


async def test_platform_starts(platform: Platform) -> None:
    new = await platform.stations.add("CP-1", "password123")
    assert new.record.id == "CP-1"
