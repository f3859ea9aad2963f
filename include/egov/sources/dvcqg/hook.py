"""Airflow hook of the index: `get_conn()` is a `DvcqgClient` built from an HTTP connection.

The connection's host is the portal's base URL (`https://dichvucong.gov.vn`, the default when
empty), or host + port + schema. Its extra may set the client's options: `pause`, `jitter`,
`max_retries`, `backoff_base`, `backoff_max`, `connect_timeout`, `read_timeout`,
`max_response_bytes`, `max_response_seconds`, `max_pages`. No sign-in: login and password
are not used.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from egov.sources.dvcqg.client import DEFAULT_BASE_URL, DvcqgClient, DvcqgError

_OPTIONS = {"pause": float, "jitter": float, "max_retries": int, "backoff_base": float,
            "backoff_max": float, "connect_timeout": float, "read_timeout": float,
            "max_response_bytes": int, "max_response_seconds": float, "max_pages": int}


class DvcqgHook(BaseHook):
    conn_name_attr = "dvcqg_conn_id"
    default_conn_name = "dvcqg_portal"
    conn_type = "http"
    hook_name = "National public-service portal (766 index)"

    def __init__(self, dvcqg_conn_id: str = default_conn_name, *, province_code: str,
                 **client_options: Any):
        super().__init__()
        self.dvcqg_conn_id = dvcqg_conn_id
        self.province_code = province_code
        self.client_options = client_options

    def base_url_and_options(self) -> tuple[str, dict[str, Any]]:
        conn = self.get_connection(self.dvcqg_conn_id)
        host = (conn.host or "").strip()
        extra = conn.extra_dejson or {}
        if not host:
            base_url = DEFAULT_BASE_URL
        elif host.startswith(("http://", "https://")):
            base_url = host.rstrip("/")
        else:
            scheme = extra.get("scheme") or (
                conn.conn_type if conn.conn_type in ("http", "https") else "https")
            base_url = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
            if conn.schema:
                base_url += "/" + conn.schema.strip("/")
        options: dict[str, Any] = {}
        for key, kind in _OPTIONS.items():
            if key not in extra:
                continue
            value = extra[key]
            try:
                if isinstance(value, bool):
                    raise TypeError("a boolean")
                options[key] = kind(value)
            except (TypeError, ValueError):
                raise DvcqgError(f"connection {self.dvcqg_conn_id!r}: extra {key} is not a "
                                 f"{kind.__name__}", kind="config") from None
        return base_url, options

    def get_conn(self) -> DvcqgClient:
        """The client: settings (EGOV_DVCQG_PAUSE_SECONDS, EGOV_DVCQG_MAX_PAGES), then the
        connection's extra, then the hook's own options, each over the one before."""
        from egov.sources.dvcqg.config import max_pages, pause_seconds

        base_url, extra = self.base_url_and_options()
        options: dict[str, Any] = {"pause": pause_seconds(), "max_pages": max_pages()}
        options.update(extra)
        options.update(self.client_options)
        try:
            return DvcqgClient(base_url, province_code=self.province_code,
                               conn_id=self.dvcqg_conn_id, **options)
        except ValueError as exc:
            raise DvcqgError(f"connection {self.dvcqg_conn_id!r}: {exc}",
                             kind="config") from None
