"""Issue 20.4: the alert channels never hand a secret to the wrong party. A webhook answering
301/302 is an error (nothing posted elsewhere, not delivered); SMTP over STARTTLS or SSL
verifies the server's certificate (a CA file from the connection extra `ca_file` for a
private CA); no login without TLS. Real local servers (http.server, aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest

from egov.serve.alerts.channels import ChannelError, post_webhook, send_email
from tests.alert_support import WebhookReceiver
from tests.ui_support import free_port


class Redirector:
    """Answers every POST with `status` and a Location to `target`."""

    def __init__(self, status: int, target: str):
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                outer.hits += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(status)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirecting_webhook_is_an_error_and_nothing_reaches_the_other_host(
        status, monkeypatch):
    with WebhookReceiver() as other:
        hop = Redirector(status, other.conn_uri)
        try:
            monkeypatch.setenv("AIRFLOW_CONN_EGOV_ALERT_WEBHOOK", json.dumps({
                "conn_type": "http", "host": "127.0.0.1", "login": "alerts",
                "password": "s3cret", "extra": {"url": hop.url,
                                                "headers": {"X-Token": "t0ken"}}}))
            with pytest.raises(ChannelError, match=f"HTTP {status}.*redirect"):
                post_webhook("egov_alert_webhook", {"alert": "x"})
        finally:
            hop.close()
        assert hop.hits == 1
        assert other.bodies == []


def test_a_webhook_answering_200_is_delivered(monkeypatch):
    with WebhookReceiver() as hook:
        monkeypatch.setenv("AIRFLOW_CONN_EGOV_ALERT_WEBHOOK", hook.conn_uri)
        assert post_webhook("egov_alert_webhook", {"alert": "x"}) is True
        assert hook.bodies == [{"alert": "x"}]


# ----------------------------------------------------------------------------- SMTP


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


class TlsSmtp:
    """aiosmtpd with STARTTLS (`mode` "starttls") or implicit TLS ("ssl"), or none ("plain");
    records every message and every login attempt."""

    def __init__(self, mode: str, certificate):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages, self.logins = [], []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                outer.messages.append(envelope.content)
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            outer.logins.append((auth_data.login, auth_data.password))
            return AuthResult(success=True)

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        self.port = free_port()
        kwargs = {"authenticator": authenticator, "auth_require_tls": mode == "starttls"}
        if mode == "starttls":
            kwargs["tls_context"] = context
        elif mode == "ssl":
            kwargs["ssl_context"] = context
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     **kwargs)
        self.mode = mode

    def uri(self, *, login: bool = True, ca_file: str | None = None) -> str:
        who = "alerts:p%40ss@" if login else ""
        flags = {"starttls": "starttls=true", "ssl": "ssl=true",
                 "plain": "starttls=false"}[self.mode]
        ca = f"&ca_file={quote(ca_file)}" if ca_file else ""
        return (f"smtp://{who}127.0.0.1:{self.port}?from={quote('egov@example.vn')}"
                f"&to={quote('ops@example.vn')}&{flags}{ca}")

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_smtp_refuses_a_certificate_it_cannot_verify(mode, certificate, monkeypatch):
    with TlsSmtp(mode, certificate) as server:
        monkeypatch.setenv("AIRFLOW_CONN_EGOV_SMTP", server.uri())
        with pytest.raises(ChannelError, match="(?i)certificate"):
            send_email("egov_smtp", "subject", "body")
        assert server.logins == [] and server.messages == []


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_smtp_with_the_server_ca_logs_in_and_delivers(mode, certificate, monkeypatch):
    with TlsSmtp(mode, certificate) as server:
        monkeypatch.setenv("AIRFLOW_CONN_EGOV_SMTP", server.uri(ca_file=certificate[0]))
        assert send_email("egov_smtp", "subject", "body") is True
        assert server.logins == [(b"alerts", b"p@ss")]
        assert len(server.messages) == 1


def test_smtp_never_logs_in_without_tls(certificate, monkeypatch):
    with TlsSmtp("plain", certificate) as server:
        monkeypatch.setenv("AIRFLOW_CONN_EGOV_SMTP", server.uri())
        with pytest.raises(ChannelError, match="without TLS"):
            send_email("egov_smtp", "subject", "body")
        assert server.logins == [] and server.messages == []
        # without a login, a plain local relay still works
        monkeypatch.setenv("AIRFLOW_CONN_EGOV_SMTP", server.uri(login=False))
        assert send_email("egov_smtp", "subject", "body") is True
        assert len(server.messages) == 1
