"""Files in S3-compatible object storage (AWS S3, MinIO, Ceph, a cloud provider's), through
boto3. Its calls block: each runs in a worker thread."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

from voltflow.blobs.local import checked_key
from voltflow.services.ports import BlobMissing


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region,
                config=Config(retries={"max_attempts": 3, "mode": "standard"}),
            )
        self.client = client

    def _key(self, key: str) -> str:
        key = checked_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        # The server checks what it received against the digest: a body cut short is refused.
        digest = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
            ContentType=media_type,
            ContentMD5=digest,
        )

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            from botocore.exceptions import ClientError

            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    raise BlobMissing(key) from exc
                raise
            body: bytes = answer["Body"].read()
            return body

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))
