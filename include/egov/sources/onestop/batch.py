"""One extraction window read back from the raw zone: its units, its catalogue, and its record
versions parsed once (egov.sources.onestop.records), each with the moment of the request that returned it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from egov.sources.onestop.records import RecordVersion, local_moment, parse_version


@dataclass
class WindowBatch:
    manifest: dict[str, Any]
    units: list[Any]  # /api/donvi items as received
    procedures: list[Any]  # /api/tthc items as received
    received: int  # /api/hoso items received, duplicates included
    versions: list[RecordVersion]  # distinct versions, in order of first arrival

    @property
    def duplicates(self) -> int:
        return self.received - len(self.versions)


def _data(page: Any) -> list[Any]:
    data = page.get("data") if isinstance(page, dict) else None
    return data if isinstance(data, list) else []


def read_window(location: str) -> WindowBatch:
    """The window whose manifest is at `location`. The same version (record, NgayCapNhat)
    received twice is one version: the later arrival is kept. A version's request moment is
    its page's `received_at` (else the manifest's `extracted_at`) in local time: the rule
    updated_at_future judges by it, on the night and on any rebuild alike."""
    from egov.sources.raw_zone import read_manifest, read_page

    manifest = read_manifest(location)
    fallback = local_moment(manifest.get("extracted_at"))
    units: list[Any] = []
    procedures: list[Any] = []
    received = 0
    kept: dict[tuple[str, str], RecordVersion] = {}
    for entry in manifest["pages"]:
        endpoint = entry["endpoint"].rstrip("/")
        if endpoint.endswith("donvi"):
            units.extend(_data(read_page(location, entry)))
        elif endpoint.endswith("tthc"):
            procedures.extend(_data(read_page(location, entry)))
        elif endpoint.endswith("hoso"):
            moment = local_moment(entry.get("received_at")) or fallback
            items = _data(read_page(location, entry))
            received += len(items)
            for item in items:  # identity = dedup_key(item), computed by the parse
                version = parse_version(item, moment)
                kept[version.identity] = version
    return WindowBatch(manifest, units, procedures, received, list(kept.values()))
