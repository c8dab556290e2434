"""A file is what its first bytes say, whatever its name: photos, signatures and documents."""

from __future__ import annotations

import pytest

from tests import jobs_support as js
from voltflow.domain.installations.attachments import (
    AttachmentKind,
    AttachmentRefused,
    check_file,
    safe_name,
    sniff,
)

K = AttachmentKind


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (js.JPEG, "image/jpeg"),
        (js.png(), "image/png"),
        (js.WEBP, "image/webp"),
        (js.HEIC, "image/heic"),
        (bytes.fromhex("0000001c6674797069736f6d") + bytes(20), None),  # an MP4 video
        (bytes.fromhex("000000186674797061766966") + bytes(20), None),  # AVIF: not taken
        (bytes.fromhex("000000186674797068656978") + bytes(20), "image/heic"),
        (bytes.fromhex("00000018667479706d696631") + bytes(20), "image/heif"),
        (js.PDF, "application/pdf"),
        (b"GIF89a" + bytes(20), None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
        (b"", None),
    ],
)
def test_the_type_is_read_from_the_content(data: bytes, found: str | None) -> None:
    assert sniff(data[:32]) == found


@pytest.mark.parametrize(
    ("kind", "data", "code"),
    [
        (K.PHOTO, js.PDF, "type"),
        (K.DOCUMENT, js.JPEG, "type"),
        (K.SIGNATURE, js.HEIC, "type"),
        (K.PHOTO, b"", "empty"),
        (K.PHOTO, js.JPEG + bytes(1000), "too_large"),
    ],
)
def test_a_file_of_another_type_or_too_large_is_refused(
    kind: AttachmentKind, data: bytes, code: str
) -> None:
    with pytest.raises(AttachmentRefused) as exc:
        check_file(kind, data, max_bytes=1000)
    assert exc.value.code == code


def test_accepted_files_answer_their_type() -> None:
    assert check_file(K.PHOTO, js.HEIC, 1000) == "image/heic"
    assert check_file(K.SIGNATURE, js.png(), 1000) == "image/png"
    assert check_file(K.DOCUMENT, js.PDF, 1000) == "application/pdf"
    assert check_file(K.PHOTO, js.JPEG, len(js.JPEG)) == "image/jpeg"


@pytest.mark.parametrize(
    ("name", "media", "safe"),
    [
        ("IMG_0001.JPG", "image/jpeg", "IMG_0001.jpg"),
        ("../../etc/passwd", "application/pdf", "passwd.pdf"),
        ("C:\\Users\\an\\foto.heic", "image/heic", "foto.heic"),
        ('a"b\r\nc.png', "image/png", "a_b_c.png"),
        ("certificate.exe", "application/pdf", "certificate.pdf"),
        ("", "image/png", "file.png"),
        (None, "image/webp", "file.webp"),
        ("keuringsverslag-é.pdf", "application/pdf", "keuringsverslag-é.pdf"),
    ],
)
def test_a_file_name_is_kept_safe_with_the_extension_of_what_it_holds(
    name: str | None, media: str, safe: str
) -> None:
    assert safe_name(name, media) == safe
