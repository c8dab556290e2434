"""The files a job keeps (photos, signatures, documents): which kinds of file each may be, told
by what the file holds, never by its name or by what the sender says it is."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime


class AttachmentKind(enum.StrEnum):
    PHOTO = "photo"
    SIGNATURE = "signature"
    DOCUMENT = "document"


JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
HEIC = "image/heic"
HEIF = "image/heif"
PDF = "application/pdf"

ACCEPTED: dict[AttachmentKind, frozenset[str]] = {
    AttachmentKind.PHOTO: frozenset({JPEG, PNG, WEBP, HEIC, HEIF}),
    # Drawn on a phone's screen: what a canvas exports.
    AttachmentKind.SIGNATURE: frozenset({PNG, JPEG, WEBP}),
    AttachmentKind.DOCUMENT: frozenset({PDF}),
}
EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp", HEIC: "heic", HEIF: "heif", PDF: "pdf"}
# ISO base media brands of HEIF images as phones write them (HEVC-coded: heic; generic: mif1).
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
SNIFF_BYTES = 32
NAME_MAX = 200


class AttachmentRefused(ValueError):
    """``code``: empty, too_large or type; ``detected``: the media type found, if any."""

    def __init__(self, code: str, message: str, detected: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.detected = detected


def sniff(head: bytes) -> str | None:
    """The media type the first bytes of a file show, among those a job keeps; None for any
    other."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIC_BRANDS:
            return HEIC
        if brand in _HEIF_BRANDS:
            return HEIF
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def check_file(kind: AttachmentKind, data: bytes, max_bytes: int) -> str:
    """The media type of ``data`` as a ``kind`` of attachment; ``AttachmentRefused`` when it is
    empty, larger than ``max_bytes`` or not a file of an accepted type."""
    if not data:
        raise AttachmentRefused("empty", "the file is empty")
    if len(data) > max_bytes:
        raise AttachmentRefused("too_large", f"the file is larger than {max_bytes} bytes")
    found = sniff(data[:SNIFF_BYTES])
    if found not in ACCEPTED[kind]:
        accepted = ", ".join(sorted(EXTENSIONS[m].upper() for m in ACCEPTED[kind]))
        raise AttachmentRefused(
            "type", f"a {kind.value} is a file of type {accepted}", detected=found
        )
    return found


def safe_name(name: str | None, media_type: str) -> str:
    """A file name to show and to download under: the sender's, stripped of paths and of what a
    header or a file system would misread, with the extension of what the file really is."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" ._") or "file"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem[: NAME_MAX - 6]}.{EXTENSIONS[media_type]}"


@dataclass(frozen=True, slots=True)
class Attachment:
    id: int
    job_id: int
    kind: AttachmentKind
    media_type: str
    size: int
    sha256: str
    blob_key: str
    file_name: str
    uploaded_at: datetime
    uploaded_by: int | None
    uploaded_by_name: str
