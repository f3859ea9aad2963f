"""Provinces whose index is read (EGOV_DVCQG_FILE, default include/config/dvcqg.yaml) and
the source's settings. Every error names the file, the entry and the key."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from egov.settings import (
    CONN_ID,
    INCLUDE_DIR,
    ConfigError,
    check_portal_code,
    env_number,
    read_yaml_list,
)

# A departmentId: the portal's UUIDs; any id of letters, digits and '-' (it keys rows).
DEPARTMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


@dataclass(frozen=True)
class Province:
    code: str  # names raw-zone folders and rows: a-z, 0-9, '-'
    name: str
    conn_id: str  # an Airflow HTTP connection: the portal's base URL
    root_department_id: str


def provinces_file() -> Path:
    return Path(os.environ.get("EGOV_DVCQG_FILE") or INCLUDE_DIR / "config" / "dvcqg.yaml")


def load_provinces(path: Path | str | None = None) -> list[Province]:
    """The provinces of the file, checked; ConfigError naming what is wrong."""
    path = Path(path or provinces_file())
    items = read_yaml_list(path, "provinces", "index provinces file")
    out: list[Province] = []
    codes: set[str] = set()
    roots: set[str] = set()
    for i, item in enumerate(items):
        where = f"{path}: provinces[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be a mapping (code, name, conn_id, "
                              f"root_department_id)")
        unknown = sorted(str(k) for k in item if k not in
                         ("code", "name", "conn_id", "root_department_id"))
        if unknown:
            raise ConfigError(f"{where}: unknown keys {unknown} (expected code, name, conn_id,"
                              f" root_department_id)")
        for key in ("code", "conn_id", "root_department_id"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise ConfigError(f"{where}.{key}: required text")
        code = check_portal_code(item["code"], f"{where}.code")
        if not CONN_ID.fullmatch(item["conn_id"]):
            raise ConfigError(f"{where}.conn_id: {item['conn_id']!r} is not a connection id "
                              f"(letters, digits, '_', '.' and '-', at most 250)")
        root = item["root_department_id"].strip()
        if not DEPARTMENT_ID.fullmatch(root):
            raise ConfigError(f"{where}.root_department_id: {root!r} is not a departmentId "
                              f"(the portal's UUID of the province)")
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"{where}.name: must be text")
        if code in codes:
            raise ConfigError(f"{where}.code: duplicate province code {code!r}")
        if root in roots:
            raise ConfigError(f"{where}.root_department_id: {root!r} is listed twice")
        codes.add(code)
        roots.add(root)
        out.append(Province(code, (name or code).strip(), item["conn_id"], root))
    return out


def pause_seconds() -> float:
    """Pause between two requests to one portal host (jitter added: up to half of it)."""
    return cast(float, env_number("EGOV_DVCQG_PAUSE_SECONDS", 1.0, float, minimum=0,
                                  maximum=600))


def final_after_days() -> int:
    """A period closed for longer than this is final: not read again unless asked."""
    return cast(int, env_number("EGOV_DVCQG_FINAL_DAYS", 45, int, minimum=0, maximum=3660))


def max_pages() -> int:
    """Pages of one group's answer at most: a paging that never ends is a failed read."""
    return cast(int, env_number("EGOV_DVCQG_MAX_PAGES", 50, int, minimum=1,
                                maximum=100000))


def check() -> list[Province]:
    """Every setting and the provinces file, or one ConfigError naming each problem."""
    errors = []
    for read in (pause_seconds, final_after_days, max_pages):
        try:
            read()
        except ConfigError as exc:
            errors.append(str(exc))
    provinces: list[Province] = []
    try:
        provinces = load_provinces()
    except ConfigError as exc:
        errors.append(str(exc))
    if errors:
        raise ConfigError("; ".join(errors))
    return provinces
