"""The Airflow hook of a one-stop portal connection: `get_conn()` returns its client."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from egov.sources.onestop.client import PortalClient, PortalError

# Options a connection's extra may set (a URI query gives text: cast to these types).
EXTRA_OPTIONS = {"connect_timeout": float, "read_timeout": float, "max_retries": int,
                 "page_size": int, "backoff_base": float, "backoff_max": float,
                 "max_requests_per_second": float, "max_repages": int, "max_splits": int,
                 "max_retry_after": float, "max_response_bytes": int,
                 "max_response_seconds": float}


class OneStopPortalHook(BaseHook):
    """A one-stop portal's Airflow connection (host, port, schema, login, password; extra may
    hold ``scheme`` and any of ``EXTRA_OPTIONS``). ``client_options`` override the extra; a
    bad value is a ``PortalError`` naming the connection."""

    conn_name_attr = "conn_id"
    hook_name = "One-stop portal (egov)"

    def __init__(self, conn_id: str, portal_code: str, **client_options: Any) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.portal_code = portal_code
        self.client_options = client_options

    def get_conn(self) -> PortalClient:
        conn_id, portal_code, kwargs = self.conn_id, self.portal_code, self.client_options
        conn = self.get_connection(conn_id)
        host = (conn.host or "").strip()
        extra = conn.extra_dejson or {}
        if host.startswith(("http://", "https://")):
            base_url = host.rstrip("/")
        else:
            scheme = extra.get("scheme") or (
                conn.conn_type if conn.conn_type in ("http", "https") else "http")
            base_url = f"{scheme}://{host}"
            if conn.port:
                base_url += f":{conn.port}"
            if conn.schema:
                base_url += "/" + conn.schema.strip("/")
        opts: dict[str, Any] = {}
        for key, kind in EXTRA_OPTIONS.items():
            if key in extra:
                try:
                    if isinstance(extra[key], bool):
                        raise TypeError("a boolean")
                    opts[key] = kind(extra[key])
                except (TypeError, ValueError) as exc:
                    raise PortalError(f"connection {conn_id!r}: extra {key}={extra[key]!r} is not "
                                      f"a {kind.__name__}", portal_code=portal_code) from exc
        opts.update(kwargs)
        try:
            return PortalClient(base_url, conn.login or "", conn.password or "",
                                portal_code=portal_code, conn_id=conn_id, **opts)
        except ValueError as exc:
            raise PortalError(f"connection {conn_id!r}: {exc}", portal_code=portal_code) from exc


def client_from_connection(conn_id: str, portal_code: str, **kwargs: Any) -> PortalClient:
    """The client of a portal's connection (``OneStopPortalHook(...).get_conn()``)."""
    return OneStopPortalHook(conn_id, portal_code, **kwargs).get_conn()
