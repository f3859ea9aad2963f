"""Deployment settings from the environment and the portals file (docs/contracts/interfaces.md).

Every numeric setting is listed once in `NUMBERS` and read through `number(name)`; a malformed
value raises `ConfigError` naming the variable. `check_settings()` reads them all (prepare
calls it, so a run stops before it touches anything).
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import egov
from egov.safe_errors import SafeMessageError

INCLUDE_DIR = Path(egov.__file__).resolve().parent.parent
log = logging.getLogger(__name__)

# A portal code names folders (raw zone) and rows: lower-case letters, digits and '-'.
PORTAL_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# An Airflow connection id usable as AIRFLOW_CONN_<ID> and in secrets backends.
CONN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,249}")


class ConfigError(SafeMessageError, ValueError):
    """A deployment setting or file is wrong; the message names it."""


def env_number(name: str, default, kind=int, *, minimum=None, maximum=None):
    """A number setting from the environment, checked; the error names the variable."""
    raw = os.environ.get(name, "").strip() or str(default)
    try:
        value = kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: not {'an integer' if kind is int else 'a number'}: "
                          f"{raw!r}") from exc
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{name}: not a finite number: {raw!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ConfigError(f"{name}: must be {bounds}: {raw!r}")
    return value


# Every numeric setting: name -> (default, type, minimum, maximum). README.md lists them.
NUMBERS: dict[str, tuple] = {
    "EGOV_WATERMARK_OVERLAP_MINUTES": (120, int, 0, None),
    "EGOV_FIRST_LOAD_WINDOW_MONTHS": (12, int, 1, None),
    "EGOV_PAGE_SIZE": (1000, int, 1, 1000),
    "EGOV_WINDOW_MAX_VERSIONS": (50000, int, 1, None),  # docs/performance.md
    "EGOV_MAX_REJECTED_SHARE": (0.2, float, 0, 1),
    "EGOV_GATE_MIN_REJECTED": (10, int, 0, None),
    "EGOV_DQ_VOLUME_FACTOR": (3, float, 1, None),
    "EGOV_DQ_NULL_SHARE_JUMP": (0.15, float, 0, 1),
    "EGOV_DQ_MIN_HISTORY_RUNS": (3, int, 1, None),
    "EGOV_RAW_RETENTION_DAYS": (90, int, 0, None),
    "EGOV_QUARANTINE_PAYLOAD_RETENTION_DAYS": (180, int, 0, None),
    "EGOV_ALERT_STALE_HOURS": (36, int, 1, 24 * 365),  # docs/alerts.md
    # read when the DAG file is parsed (dag_number)
    "EGOV_MAX_PARALLEL_EXTRACTS": (4, int, 1, None),
    "EGOV_TASK_RETRIES": (2, int, 0, 100),
    "EGOV_RETRY_DELAY_SECONDS": (300, int, 0, 86400),
    "EGOV_EXTRACT_TIMEOUT_MINUTES": (60, int, 1, 1440),
    "EGOV_TASK_TIMEOUT_MINUTES": (120, int, 1, 1440),
    "EGOV_NIGHTLY_DEADLINE_HOUR": (7, int, 2, 23),  # docs/alerts.md
    "EGOV_REPORTED_MAX_BYTES": (5 * 1024 * 1024, int, 1024, 100 * 1024 * 1024),  # reported files
}


def number(name: str):
    """The numeric setting `name` (one of `NUMBERS`), checked."""
    default, kind, minimum, maximum = NUMBERS[name]
    return env_number(name, default, kind, minimum=minimum, maximum=maximum)


def dag_number(name: str):
    """For DAG files: the setting, or its default when malformed. A DAG file that fails to
    import silently skips its runs; instead `prepare` (check_settings) fails naming it."""
    try:
        return number(name)
    except ConfigError as exc:
        log.error("%s; using the default %s until it is fixed (prepare fails meanwhile)",
                  exc, NUMBERS[name][0])
        return NUMBERS[name][0]


def check_settings() -> None:
    """Read every setting once; raise one ConfigError naming each malformed one."""
    errors = []
    for name in NUMBERS:
        try:
            number(name)
        except ConfigError as exc:
            errors.append(str(exc))
    try:
        history_start()
    except ConfigError as exc:
        errors.append(str(exc))
    for name, default in FLAGS.items():
        try:
            flag(name, default)
        except ConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise ConfigError("; ".join(errors))


def check_portal_code(code, where: str = "portal code") -> str:
    """`code` if it is a safe portal code (it names raw-zone folders), else ConfigError."""
    if not isinstance(code, str) or not PORTAL_CODE.fullmatch(code):
        raise ConfigError(f"{where}: {code!r} is not a portal code (1-64 characters: a-z, "
                          f"0-9 and '-', starting with a letter or digit)")
    return code


def read_text(path: Path, what: str) -> str:
    """A UTF-8 text file; a missing, unreadable or non-UTF-8 file is a ConfigError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: {what} not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {what} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}"
                          f" at offset {exc.start}): save it as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class PortalConfig:
    code: str
    name: str
    conn_id: str
    max_requests_per_second: float | None = None  # politeness towards that portal


def portals_file() -> Path:
    return Path(os.environ.get("EGOV_PORTALS_FILE") or INCLUDE_DIR / "config" / "portals.yaml")


def read_yaml_list(path: Path, key: str, what: str) -> list:
    """The list under the top-level `key` of the YAML file `path` (`what` names the file in
    errors); ConfigError when the file is unreadable, not YAML or has no such list."""
    import yaml

    text = read_text(path, what)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    items = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"{path}: top-level key '{key}' must be a list")
    return items


def load_portals(path: Path | None = None) -> list[PortalConfig]:
    path = Path(path or portals_file())
    items = read_yaml_list(path, "portals", "portals file")
    portals, seen = [], set()
    for i, item in enumerate(items):
        where = f"{path}: portals[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be a mapping")
        for key in ("code", "conn_id"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise ConfigError(f"{where}.{key}: required text")
        check_portal_code(item["code"], f"{where}.code")
        if not CONN_ID.fullmatch(item["conn_id"]):
            raise ConfigError(f"{where}.conn_id: {item['conn_id']!r} is not a connection id "
                              f"(letters, digits, '_', '.' and '-', at most 250)")
        if item["code"] in seen:
            raise ConfigError(f"{where}.code: duplicate portal code {item['code']!r}")
        seen.add(item["code"])
        rate = item.get("max_requests_per_second")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)
                                 or not math.isfinite(rate) or rate <= 0):
            raise ConfigError(f"{where}.max_requests_per_second: must be a number > 0")
        portals.append(PortalConfig(item["code"], str(item.get("name") or item["code"]),
                                    item["conn_id"], rate))
    return portals


def history_start() -> date:
    raw = os.environ.get("EGOV_HISTORY_START", "2021-01-01")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ConfigError(f"EGOV_HISTORY_START: not a date (YYYY-MM-DD): {raw!r}") from exc


def watermark_overlap() -> timedelta:
    """How far before the watermark each incremental window starts again."""
    return timedelta(minutes=number("EGOV_WATERMARK_OVERLAP_MINUTES"))


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))


def raw_zone_root() -> str:
    """Where raw pages are kept: a local folder or any ObjectStoragePath URL."""
    return os.environ.get("EGOV_RAW_DIR") or str(airflow_home() / "egov_raw")


def first_load_window_months() -> int:
    """A first load or full refresh is split into windows of this many months (mapped tasks)."""
    return number("EGOV_FIRST_LOAD_WINDOW_MONTHS")


def window_max_versions() -> int:
    """Windows are cut (prepare) until each holds at most this many record versions: what
    one extract or load task holds in memory follows this, not the history."""
    return number("EGOV_WINDOW_MAX_VERSIONS")


def page_size() -> int:
    return number("EGOV_PAGE_SIZE")


PII_KEY_CONN_ID = "egov_pii_key"
PII_KEY_MIN_BYTES = 16
_HOW_TO_SET_PII_KEY = (
    "set EGOV_PII_KEY, or the password of the Airflow connection egov_pii_key, to a random "
    f"key of at least {PII_KEY_MIN_BYTES} bytes (python -c \"import secrets; "
    "print(secrets.token_urlsafe(32))\"); keep it: the same ID number must keep the same "
    "hash. To run without one (a demo: applicant_id_hash stays null), set "
    "EGOV_PII_KEY_OPTIONAL=true")


def flag(name: str, default: bool) -> bool:
    """A true/false setting: 1/true/yes/on or 0/false/no/off (any case), unset or blank: the
    default; anything else is a ConfigError naming the variable."""
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name}: not true or false: {raw!r}")


FLAGS = {"EGOV_DATA_DOCS": True, "EGOV_PII_KEY_OPTIONAL": False}


def pii_key_optional() -> bool:
    """EGOV_PII_KEY_OPTIONAL (default false): true lets the pipeline run without a key."""
    return flag("EGOV_PII_KEY_OPTIONAL", False)


def _connection_password(conn_id: str) -> str | None:
    """The password of an Airflow connection from the secrets backends, None when no backend
    has the connection. A backend that fails is an error, not a missing connection (the SDK's
    own lookup would skip it)."""
    try:
        from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded
    except ImportError:  # pragma: no cover - an SDK without it: its public lookup
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            return BaseHook.get_connection(conn_id).password
        except AirflowNotFoundException:
            return None
    for backend in ensure_secrets_backend_loaded():
        try:
            conn = backend.get_connection(conn_id=conn_id)
        except Exception as exc:  # noqa: BLE001 - named, not swallowed
            raise ConfigError(
                f"connection {conn_id}: the secrets backend {type(backend).__name__} failed "
                f"({type(exc).__name__}); the key for applicants' ID numbers cannot be read. "
                f"Fix the backend, or set EGOV_PII_KEY") from None
        if conn is not None:
            return conn.password
    return None


def pii_key() -> bytes | None:
    """Key for hashing applicants' ID numbers: EGOV_PII_KEY, else the password of the
    connection `egov_pii_key`. None only with EGOV_PII_KEY_OPTIONAL=true; otherwise a
    missing key, a key shorter than PII_KEY_MIN_BYTES or a failing secrets backend raise
    ConfigError saying what to do."""
    key, source = os.environ.get("EGOV_PII_KEY"), "EGOV_PII_KEY"
    if not key:
        key, source = _connection_password(PII_KEY_CONN_ID), f"connection {PII_KEY_CONN_ID}"
    if not key:
        if pii_key_optional():
            return None
        raise ConfigError(f"no key for hashing applicants' ID numbers: {_HOW_TO_SET_PII_KEY}")
    raw = key.encode("utf-8", "surrogatepass")
    if len(raw) < PII_KEY_MIN_BYTES:
        raise ConfigError(f"{source}: the key for applicants' ID numbers is {len(raw)} bytes "
                          f"long; at least {PII_KEY_MIN_BYTES} are needed: "
                          f"{_HOW_TO_SET_PII_KEY.split('; keep it')[0]}")
    return raw
