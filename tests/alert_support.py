"""A local HTTP receiver (webhook) and a local SMTP server (aiosmtpd) for the alert tests."""

from __future__ import annotations

import json
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.ui_support import free_port


class WebhookReceiver:
    """Records every POSTed JSON body; answers `status` (200 unless told otherwise)."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if receiver.status < 300:
                    receiver.bodies.append(json.loads(body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def conn_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/egov"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """aiosmtpd on a free port of 127.0.0.1; `messages` holds the parsed e-mails."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        receiver = self
        self.messages = []

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                receiver.messages.append(message_from_bytes(envelope.content,
                                                            policy=policy.default))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def conn_uri(self, to: str = "ops@example.vn,analyst@example.vn") -> str:
        from urllib.parse import quote

        return (f"smtp://127.0.0.1:{self.port}?from={quote('egov@example.vn')}"
                f"&to={quote(to)}&starttls=false")

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
