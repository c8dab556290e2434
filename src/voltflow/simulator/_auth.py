"""Local authorization: the list the central system sends (SendLocalList) and the cache of answers
the station got online. Both answer for an idTag while the station is offline."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voltflow.simulator._common import parse_iso, utc_now


class UpdateStatus(enum.StrEnum):
    ACCEPTED = "Accepted"
    FAILED = "Failed"
    NOT_SUPPORTED = "NotSupported"
    VERSION_MISMATCH = "VersionMismatch"


@dataclass(frozen=True, slots=True)
class IdTagInfo:
    status: str
    expiry: datetime | None = None

    @classmethod
    def from_ocpp(cls, info: Mapping[str, Any]) -> IdTagInfo:
        expiry = info.get("expiry_date") or info.get("expiryDate")
        return cls(str(info["status"]), parse_iso(expiry) if isinstance(expiry, str) else None)

    def effective(self, now: datetime) -> str:
        if self.status == "Accepted" and self.expiry is not None and self.expiry <= now:
            return "Expired"
        return self.status


def _norm(id_tag: str) -> str:
    return id_tag.strip().upper()  # idTag is a CiString: case does not count


class LocalAuthorization:
    def __init__(self, list_max: int = 1000, send_max: int = 100) -> None:
        self.version = 0
        self.entries: dict[str, IdTagInfo] = {}
        self.cache: dict[str, IdTagInfo] = {}
        self.list_max = list_max
        self.send_max = send_max

    def status(self, id_tag: str, *, use_list: bool, use_cache: bool) -> str | None:
        """What the local list (first) or the cache says about an idTag; None if neither knows."""
        now = utc_now()
        key = _norm(id_tag)
        if use_list and key in self.entries:
            return self.entries[key].effective(now)
        if use_cache and key in self.cache:
            return self.cache[key].effective(now)
        return None

    def remember(self, id_tag: str, info: Mapping[str, Any] | None) -> None:
        if info and "status" in info:
            self.cache[_norm(id_tag)] = IdTagInfo.from_ocpp(info)

    def clear_cache(self) -> None:
        self.cache.clear()

    def update(
        self, version: int, update_type: str, entries: Iterable[Mapping[str, Any]]
    ) -> UpdateStatus:
        """SendLocalList: Full replaces the list, Differential adds, changes and (entries without
        idTagInfo) removes; a differential update must bring a newer version."""
        items = list(entries)
        if len(items) > self.send_max or version < 0:
            return UpdateStatus.FAILED
        if update_type == "Full":
            if any(not e.get("id_tag_info") for e in items):
                return UpdateStatus.FAILED
            new = {_norm(e["id_tag"]): IdTagInfo.from_ocpp(e["id_tag_info"]) for e in items}
        else:
            if version <= self.version:
                return UpdateStatus.VERSION_MISMATCH
            new = dict(self.entries)
            for e in items:
                info = e.get("id_tag_info")
                if info:
                    new[_norm(e["id_tag"])] = IdTagInfo.from_ocpp(info)
                else:
                    new.pop(_norm(e["id_tag"]), None)
        if len(new) > self.list_max:
            return UpdateStatus.FAILED
        self.entries = new
        self.version = version
        return UpdateStatus.ACCEPTED
