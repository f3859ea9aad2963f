"""The crosswalk of the index's departments (`departmentId`) to the one-stop units
(`MaDonVi`), dvcqg-766.md rule 4.

* `load_crosswalk(path)`: the operator's confirmed mappings (EGOV_DVCQG_CROSSWALK_FILE,
  default include/config/dvcqg_crosswalk.yaml), top-level key `mappings`: a list of
  `{department_id, unit_code}` (optional `note`). A department or a unit named twice is an
  error naming the file and the entry: one department, one unit.
* `dump_crosswalk(mappings)`: the same file's text (what the page's download gives, to
  commit once the page's confirmations are reviewed).
* `propose(departments, units)`: proposals for the departments the file does not map, by
  code (`H44` → `000.00.00.H44`, `H44.07` → `000.00.07.H44`, or the same code) and by
  normalised name (`normalise_name`). A proposal is not a mapping until confirmed in the
  file.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egov.settings import INCLUDE_DIR, ConfigError, read_text

_SPACES = re.compile(r"\s+")
# "- Tỉnh Phú Thọ", "– tỉnh X", "tỉnh X" at the end; "UBND", "Ủy ban nhân dân", "Sở" in front
_PROVINCE_SUFFIX = re.compile(r"\s*[-–—]?\s*(tỉnh|thành phố|tp\.?)\s+[^-–—]+$")
_PREFIXES = ("ủy ban nhân dân ", "uỷ ban nhân dân ", "ubnd ", "sở ")
_DEPT_CODE = re.compile(r"(H[0-9A-Z]{2})(?:\.(\d{1,2}))?")


def crosswalk_file() -> Path:
    """EGOV_DVCQG_CROSSWALK_FILE, else include/config/dvcqg_crosswalk.yaml."""
    env = os.environ.get("EGOV_DVCQG_CROSSWALK_FILE", "").strip()
    return Path(env) if env else Path(INCLUDE_DIR) / "config" / "dvcqg_crosswalk.yaml"


def normalise_name(name: Any) -> str:
    """A name compared across the two systems: NFC, case, whitespace, and the affixes
    "UBND"/"Ủy ban nhân dân", "Sở" and "- Tỉnh X" removed."""
    if not isinstance(name, str):
        return ""
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", name)).strip().casefold()
    text = _PROVINCE_SUFFIX.sub("", text).strip()
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix):].strip()
    return text


def code_candidates(department_code: Any) -> set[str]:
    """One-stop unit codes a department code may stand for (QĐ 20/2020 codes)."""
    if not isinstance(department_code, str) or not department_code.strip():
        return set()
    code = department_code.strip()
    out = {code}
    m = _DEPT_CODE.fullmatch(code)
    if m:
        province, number = m.group(1), m.group(2)
        out.add(f"000.00.{int(number or 0):02d}.{province}")
    return out


@dataclass(frozen=True)
class Mapping:
    department_id: str
    unit_code: str
    note: str | None = None


@dataclass(frozen=True)
class Proposal:
    department_id: str
    unit_code: str
    basis: str  # "code", "name" or "code+name"


def load_crosswalk(path: str | os.PathLike[str] | None = None) -> list[Mapping]:
    """The confirmed mappings; a missing file is an empty crosswalk."""
    import yaml

    file = Path(path) if path is not None else crosswalk_file()
    if not file.exists():
        return []
    try:
        data = yaml.safe_load(read_text(file, "crosswalk file"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: invalid YAML: {exc}") from None
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("mappings", []), list):
        raise ConfigError(f"{file}: expected a mapping with a list under 'mappings'")
    out: list[Mapping] = []
    departments: dict[str, int] = {}
    units: dict[str, int] = {}
    for i, item in enumerate(data.get("mappings") or []):
        where = f"{file}: mappings[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected department_id and unit_code")
        codes: dict[str, str] = {}
        for key in ("department_id", "unit_code"):
            value = item.get(key)
            if not isinstance(value, str) or not value.strip() or len(value) > 255:
                raise ConfigError(f"{where}: {key}: expected a non-blank code")
            codes[key] = value.strip()
        dep, unit, note = codes["department_id"], codes["unit_code"], item.get("note")
        if dep in departments:
            raise ConfigError(f"{where}: department_id: {dep} is already mapped by "
                              f"mappings[{departments[dep]}]")
        if unit in units:
            raise ConfigError(f"{where}: unit_code: {unit} is already mapped by "
                              f"mappings[{units[unit]}] (one department per unit)")
        departments[dep], units[unit] = i, i
        out.append(Mapping(dep, unit, str(note) if note is not None else None))
    return out


HEADER = """\
# The crosswalk of the national portal's departments (`departmentId`, 766 index) to the
# one-stop portals' units (`MaDonVi`), docs/dvcqg.md "Departments and units". Written by the
# "Chỉ số 766" page (crosswalk.yaml): the file's mappings, then those confirmed on the page.
# Review it, then replace include/config/dvcqg_crosswalk.yaml (or EGOV_DVCQG_CROSSWALK_FILE).
"""


def dump_crosswalk(mappings: Iterable[Mapping], names: dict[str, str] | None = None) -> str:
    """The crosswalk file's text for `mappings` (a department's name as the note when it has
    none); `load_crosswalk` reads it back to the same mappings."""
    import yaml

    items = []
    for m in mappings:
        item = {"department_id": m.department_id, "unit_code": m.unit_code}
        note = m.note if m.note is not None else (names or {}).get(m.department_id)
        if note is not None:
            item["note"] = note
        items.append(item)
    return HEADER + yaml.safe_dump({"mappings": items}, allow_unicode=True, sort_keys=False,
                                   width=100)


def propose(departments: Iterable[tuple[str, str | None, str | None]],
            units: Iterable[tuple[str, str | None]],
            confirmed: Iterable[Mapping] = ()) -> list[Proposal]:
    """Proposals for the departments (`(department_id, code, name)`) not confirmed, among
    the units (`(unit_code, name)`) not confirmed: by code, by normalised name, or both.
    A name shared by several units proposes none (ambiguous)."""
    done = {m.department_id for m in confirmed}
    taken = {m.unit_code for m in confirmed}
    free = [(code, name) for code, name in units if code not in taken]
    by_code = {code: code for code, _ in free}
    by_name: dict[str, list[str]] = {}
    for code, name in free:
        key = normalise_name(name)
        if key:
            by_name.setdefault(key, []).append(code)
    out: list[Proposal] = []
    for dep, dep_code, name in departments:
        if dep in done:
            continue
        found: dict[str, set[str]] = {}
        for candidate in code_candidates(dep_code):
            if candidate in by_code:
                found.setdefault(candidate, set()).add("code")
        named = by_name.get(normalise_name(name), [])
        if len(named) == 1:
            found.setdefault(named[0], set()).add("name")
        for unit, bases in sorted(found.items()):
            out.append(Proposal(dep, unit, "+".join(sorted(bases))))
    return out
