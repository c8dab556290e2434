"""The blob stores behind the one seam: a local folder, and S3-compatible object storage tested
against a real S3 server (moto's, started here in-process), by themselves and under the jobs API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from tests import jobs_support as js
from tests.conftest import make_settings
from voltflow.blobs import LocalBlobStore, open_blob_store
from voltflow.blobs.s3 import S3BlobStore
from voltflow.bootstrap import build
from voltflow.services.ports import BlobMissing, BlobStore
from voltflow.web import create_app

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing-secret",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """An S3-compatible server on a free port of this machine; its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass
class Bucket:
    endpoint: str
    name: str

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="eu-west-1")

    def keys(self, prefix: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.name, Prefix=prefix)
        return [o["Key"] for o in listed.get("Contents", [])]


@pytest.fixture
def s3_bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    """A bucket of its own on the server, and the credentials boto3 finds in the environment."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = Bucket(s3_server, f"voltflow-{uuid.uuid4().hex[:12]}")
    bucket.client().create_bucket(
        Bucket=bucket.name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    return bucket


async def _round_trip(store: BlobStore) -> None:
    await store.put("jobs/1/photo-a", js.JPEG, "image/jpeg")
    await store.put("jobs/1/doc", js.PDF, "application/pdf")
    assert await store.get("jobs/1/photo-a") == js.JPEG
    assert await store.get("jobs/1/doc") == js.PDF
    await store.put("jobs/1/doc", js.png(), "image/png")  # a key written again: the new file
    assert await store.get("jobs/1/doc") == js.png()
    await store.delete("jobs/1/photo-a")
    await store.delete("jobs/1/photo-a")  # gone already: nothing to do
    with pytest.raises(BlobMissing):
        await store.get("jobs/1/photo-a")
    for bad in ("../etc/passwd", "/abs", "jobs/../x", "Jobs/1", ""):
        with pytest.raises(ValueError, match="blob key"):
            await store.put(bad, b"x", "image/png")


async def test_a_local_folder_keeps_whole_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "files")
    await _round_trip(store)
    assert sorted(p.name for p in (tmp_path / "files" / "jobs" / "1").iterdir()) == ["doc"]


async def test_an_s3_bucket_keeps_files_under_its_prefix(s3_bucket: Bucket) -> None:
    store = open_blob_store(
        f"s3://{s3_bucket.name}/tenant-a", endpoint_url=s3_bucket.endpoint, region="eu-west-1"
    )
    assert isinstance(store, S3BlobStore)
    await _round_trip(store)
    assert s3_bucket.keys("") == ["tenant-a/jobs/1/doc"]
    head = s3_bucket.client().head_object(Bucket=s3_bucket.name, Key="tenant-a/jobs/1/doc")
    assert head["ContentType"] == "image/png"


def test_the_setting_names_the_store() -> None:
    assert isinstance(open_blob_store("./files"), LocalBlobStore)
    with pytest.raises(ValueError, match="bucket"):
        open_blob_store("s3:///prefix")


@dataclass
class S3Api:
    bucket: Bucket
    technician: httpx.AsyncClient
    stranger: httpx.AsyncClient
    job_id: int


@pytest.fixture
async def s3_api(s3_bucket: Bucket, database_url: str) -> AsyncIterator[S3Api]:
    """The API of a platform whose files go to the S3 server, with a job under way: the
    technician's and a stranger's clients."""
    settings = make_settings(
        database_url, files=f"s3://{s3_bucket.name}/voltflow", s3_endpoint_url=s3_bucket.endpoint
    )
    platform = build(settings)
    await platform.start()
    try:
        s = await js.site(platform)
        view = await js.started(platform, s, when=platform.clock.now() + timedelta(days=1))
        transport = httpx.ASGITransport(app=create_app(platform))
        clients = []
        for actor in (s.technician, s.stranger):
            key = await platform.accounts.create_api_key(actor.username)
            clients.append(
                httpx.AsyncClient(
                    transport=transport,
                    base_url="http://test",
                    headers={"Authorization": f"Bearer {key}"},
                )
            )
        try:
            yield S3Api(s3_bucket, clients[0], clients[1], view.job.id)
        finally:
            for c in clients:
                await c.aclose()
    finally:
        await platform.stop()


async def test_a_jobs_photo_goes_to_s3_and_comes_back_to_its_people_only(s3_api: S3Api) -> None:
    technician, job_id = s3_api.technician, s3_api.job_id
    uploaded = await technician.post(
        f"/api/v1/jobs/{job_id}/attachments",
        data={"kind": "photo"},
        files={"file": ("IMG_0001.JPG", js.JPEG, "image/jpeg")},
    )
    assert uploaded.status_code == 201, uploaded.text
    photo = uploaded.json()
    keys = s3_api.bucket.keys("voltflow/")
    assert len(keys) == 1 and keys[0].startswith(f"voltflow/jobs/{job_id}/")
    url = f"/api/v1/jobs/{job_id}/attachments/{photo['id']}"
    back = await technician.get(url)
    assert back.status_code == 200 and back.content == js.JPEG
    assert (await s3_api.stranger.get(url)).status_code == 404
    # A file refused for its type never reaches the bucket.
    refused = await technician.post(
        f"/api/v1/jobs/{job_id}/attachments",
        data={"kind": "photo"},
        files={"file": ("photo.jpg", js.PDF, "image/jpeg")},
    )
    assert refused.status_code == 422
    assert s3_api.bucket.keys("voltflow/") == keys
