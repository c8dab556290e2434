"""The blob stores behind ``services.ports.BlobStore``: a local folder (the default) or
S3-compatible object storage, chosen by the ``files`` setting."""

from __future__ import annotations

from pathlib import Path

from voltflow.blobs.local import LocalBlobStore
from voltflow.services.ports import BlobStore

S3_SCHEME = "s3://"


def open_blob_store(
    location: str, *, endpoint_url: str | None = None, region: str | None = None
) -> BlobStore:
    """``s3://bucket/prefix`` (credentials as boto3 finds them: ``AWS_ACCESS_KEY_ID`` …,
    ``endpoint_url`` for S3-compatible servers), else a folder."""
    if location.startswith(S3_SCHEME):
        from voltflow.blobs.s3 import S3BlobStore

        bucket, _, prefix = location.removeprefix(S3_SCHEME).partition("/")
        if not bucket:
            raise ValueError(f"files: {location!r} names no bucket (s3://bucket/prefix)")
        return S3BlobStore(bucket, prefix, endpoint_url=endpoint_url, region=region)
    return LocalBlobStore(Path(location))


__all__ = ["LocalBlobStore", "open_blob_store"]
