"""Where alerts go: a webhook (JSON POST) and e-mail (SMTP), each an Airflow connection.

- webhook, connection `egov_alert_webhook` (EGOV_ALERT_WEBHOOK_CONN), e.g.
  `AIRFLOW_CONN_EGOV_ALERT_WEBHOOK='https://hooks.example.vn/egov'`; the extra `{"url": ...}`
  wins over host/port/path; extra `headers` are sent too; login/password as basic auth.
- e-mail, connection `egov_smtp` (EGOV_ALERT_SMTP_CONN), e.g.
  `AIRFLOW_CONN_EGOV_SMTP='smtp://user:pass@mail.example.vn:587?from=egov@example.vn&to=a@x.vn,b@x.vn&starttls=true'`.
A connection that is not defined is a channel turned off.

A webhook answering a redirect (3xx) is an error, never followed (the headers and the
credentials would go to another host). SMTP with `starttls=true` or `ssl=true` verifies the
server's certificate against the system's CAs (or the extra `ca_file`); a login is only ever
sent over TLS.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl
    import urllib.request

    from airflow.sdk import Connection

log = logging.getLogger(__name__)


class ChannelError(RuntimeError):
    """A configured channel could not deliver."""


def _connection(conn_id: str) -> Connection | None:
    """The Airflow connection, or None when it is not defined anywhere."""
    import os

    from airflow.sdk import Connection

    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if raw:
        return (Connection.from_json(raw, conn_id=conn_id) if raw.lstrip().startswith("{")
                else Connection.from_uri(raw, conn_id=conn_id))
    try:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not defined: the channel is off
        return None


def _extra(conn: Connection) -> dict[str, Any]:
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
    return extra if isinstance(extra, dict) else {}


def webhook_url(conn: Connection) -> str:
    extra = _extra(conn)
    if extra.get("url"):
        return str(extra["url"])
    scheme = "https" if (conn.conn_type or "").lower() == "https" or extra.get("scheme") == "https" \
        else "http"
    port = f":{conn.port}" if conn.port else ""
    path = (conn.schema or "").lstrip("/")
    return f"{scheme}://{conn.host}{port}/{path}"


def post_webhook(conn_id: str, payload: dict[str, Any], *, timeout: float = 20) -> bool:
    """POST `payload` as JSON; False when the connection is not defined."""
    import base64
    import urllib.error
    import urllib.request

    conn = _connection(conn_id)
    if conn is None or not (conn.host or _extra(conn).get("url")):
        return False
    url = webhook_url(conn)
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "egov-alerts"}
    headers.update({str(k): str(v) for k, v in (_extra(conn).get("headers") or {}).items()})
    if conn.login:
        token = base64.b64encode(f"{conn.login}:{conn.password or ''}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = _no_redirects()
    try:
        with opener.open(request, timeout=timeout) as response:
            if response.status >= 300:
                raise ChannelError(f"webhook {conn_id}: HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise ChannelError(f"webhook {conn_id}: HTTP {exc.code}: a redirect, not "
                               "followed (set the connection to the final URL)") from None
        raise ChannelError(f"webhook {conn_id}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ChannelError(f"webhook {conn_id}: {type(exc).__name__}: {exc}") from None
    return True


def _no_redirects() -> urllib.request.OpenerDirector:
    """An opener that follows no redirect: a 3xx answer is raised as an HTTPError."""
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req: Any, fp: Any, code: Any, msg: Any, headers: Any,
                             newurl: Any) -> None:
            return None

    return urllib.request.build_opener(NoRedirect)


def _tls_context(extra: dict[str, Any]) -> ssl.SSLContext:
    """Certificates verified (host name included); extra `ca_file` adds a private CA."""
    import ssl

    ca_file = extra.get("ca_file")
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def _flag(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def send_email(conn_id: str, subject: str, body: str, *, timeout: float = 30) -> bool:
    """Send a plain-text e-mail through the SMTP connection; False when it is not defined."""
    import smtplib
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    conn = _connection(conn_id)
    if conn is None or not conn.host:
        return False
    extra = _extra(conn)
    recipients = [a.strip() for a in str(extra.get("to", "")).replace(";", ",").split(",")
                  if a.strip()]
    if not recipients:
        raise ChannelError(f"smtp {conn_id}: no recipients (extra 'to')")
    sender = str(extra.get("from") or conn.login or "egov-alerts@localhost")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="egov.alerts")
    message.set_content(body)
    use_ssl, starttls = _flag(extra.get("ssl")), _flag(extra.get("starttls"))
    port = int(conn.port or (465 if use_ssl else 25))
    login = bool(conn.login and conn.password)
    if login and not (use_ssl or starttls):
        raise ChannelError(f"smtp {conn_id}: refusing to send a password without TLS "
                           "(set starttls=true or ssl=true in the connection extra)")
    try:
        context = _tls_context(extra) if use_ssl or starttls else None
        if use_ssl:
            smtp_cm: smtplib.SMTP = smtplib.SMTP_SSL(conn.host, port, timeout=timeout,
                                                     context=context)
        else:
            smtp_cm = smtplib.SMTP(conn.host, port, timeout=timeout)
        with smtp_cm as smtp:
            if starttls and not use_ssl:
                smtp.starttls(context=context)
            if login:
                smtp.login(conn.login or "", conn.password or "")
            smtp.send_message(message, from_addr=sender, to_addrs=recipients)
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"smtp {conn_id}: {type(exc).__name__}: {exc}") from None
    return True
