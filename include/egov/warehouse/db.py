"""Where the warehouse is and how to open it.

The warehouse is the Airflow connection `egov_warehouse`: any SQLAlchemy URL
(`AIRFLOW_CONN_EGOV_WAREHOUSE='postgresql+psycopg2://...'` or `'sqlite:////abs/path.db'`),
else a SQLite file under the Airflow home.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from egov.settings import airflow_home

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

CONN_ID = "egov_warehouse"
_DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "sqlite": "sqlite",
}


def default_url() -> str:
    return f"sqlite:///{airflow_home() / 'egov_warehouse.db'}"


def normalize_url(url: str) -> str:
    """Name the driver explicitly: SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"connection {CONN_ID!r} is not a URL (no '://')")
    if "+" not in scheme and scheme in _DRIVERS:
        scheme = _DRIVERS[scheme]
    return f"{scheme}://{rest}"


def _url_from_fields(conn_type: str | None, host, login, password, port, schema, extra) -> str:
    extra = extra or {}
    if isinstance(extra, str):
        extra = json.loads(extra) if extra.strip() else {}
    if extra.get("sqlalchemy_url"):
        return normalize_url(extra["sqlalchemy_url"])
    kind = (conn_type or "").replace("-", "_").split("+")[0]
    if kind == "sqlite":
        path = schema or host or ""
        return f"sqlite:///{path}"
    if kind in ("postgres", "postgresql"):
        auth = ""
        if login:
            auth = quote(login, safe="")
            if password:
                auth += ":" + quote(password, safe="")
            auth += "@"
        where = host or "localhost"
        if port:
            where += f":{port}"
        return f"postgresql+psycopg2://{auth}{where}/{schema or ''}"
    raise ValueError(f"connection {CONN_ID!r}: unsupported type {conn_type!r}")


def url_from_env_value(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith("{"):
        d = json.loads(raw)
        return _url_from_fields(
            d.get("conn_type", ""), d.get("host"), d.get("login"), d.get("password"),
            d.get("port"), d.get("schema"), d.get("extra"),
        )
    return normalize_url(raw)


def warehouse_url() -> str:
    raw = os.environ.get("AIRFLOW_CONN_" + CONN_ID.upper())
    if raw:
        return url_from_env_value(raw)
    try:  # a connection kept in the metadata DB or a secrets backend
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(CONN_ID)
    except Exception:  # noqa: BLE001 - not defined anywhere: use the default
        conn = None
    if conn is not None:
        return _url_from_fields(
            conn.conn_type, conn.host, conn.login, conn.password, conn.port, conn.schema,
            conn.extra,
        )
    return default_url()


def make_engine(url: str | None = None) -> Engine:
    """An engine on the warehouse. `hide_parameters`: an error never shows the statement's
    parameters (they hold record values: egov.safe_errors)."""
    from sqlalchemy import create_engine, event

    url = normalize_url(url) if url else warehouse_url()
    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            _create_private(Path(path))
        engine = create_engine(url, connect_args={"timeout": 60}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _create_private(path: Path) -> None:
    """Create the SQLite file readable by its owner only, before SQLite does (it holds
    applicants' ID hashes); SQLite gives its -wal and -shm files the database file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return  # an existing warehouse keeps the mode its operator gave it
    os.chmod(path, 0o600)


def safe_url(url: str) -> str:
    """The URL with its password hidden, for logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
