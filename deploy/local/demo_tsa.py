"""A local RFC 3161 timestamp authority for `make dev` and the tests (never production):
`python -m deploy.local.demo_tsa --cert tsa.pem --key tsa-key.pem --port N`.

It answers `POST /` (application/timestamp-query) with a timestamp token signed by the demo TSA
certificate (pyHanko's DummyTimeStamper does the RFC 3161 part), and `GET /health` with 200.
"""

import argparse
import asyncio
import functools
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

from asn1crypto import keys, pem, tsp, x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from pyhanko.sign.timestamps import dummy_client
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

MAX_QUERY_BYTES = 16 * 1024


@functools.lru_cache(maxsize=4)
def _private_key(der: bytes) -> PrivateKeyTypes:
    return serialization.load_der_private_key(der, password=None)


# DummyTimeStamper parses (and checks) its RSA key at every stamp, which costs more than the
# stamp: the demo TSA parses it once.
dummy_client.serialization = SimpleNamespace(  # type: ignore[assignment,attr-defined]
    load_der_private_key=lambda der, password=None: _private_key(der))


def load_stamper(cert_path: Path, key_path: Path) -> DummyTimeStamper:
    """The demo TSA from its PEM certificate and (unencrypted PKCS#8) key."""
    _, _, cert_der = pem.unarmor(cert_path.read_bytes())
    _, _, key_der = pem.unarmor(key_path.read_bytes())
    return DummyTimeStamper(tsa_cert=x509.Certificate.load(cert_der),
                            tsa_key=keys.PrivateKeyInfo.load(key_der))


def handler_for(stamper: DummyTimeStamper) -> type[BaseHTTPRequestHandler]:
    class TimestampHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(200 if self.path == "/health" else 404, b"ok", "text/plain")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_QUERY_BYTES:
                self._reply(400, b"bad request", "text/plain")
                return
            try:
                query = tsp.TimeStampReq.load(self.rfile.read(length))
                reply = asyncio.run(stamper.async_request_tsa_response(query))
            except Exception:  # noqa: BLE001 - whatever it was, not a query we can answer
                self._reply(400, b"not a timestamp query", "text/plain")
                return
            self._reply(200, reply.dump(), "application/timestamp-reply")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per stamp would drown the stack's log

    return TimestampHandler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    stamper = load_stamper(arguments.cert, arguments.key)
    server = ThreadingHTTPServer((arguments.host, arguments.port), handler_for(stamper))
    print(f"demo TSA on http://{arguments.host}:{arguments.port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
