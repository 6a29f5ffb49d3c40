"""The local stack's sealing: a demo sealing CA with the office's seal certificate, and a local
timestamp authority (deploy/local/demo_tsa.py) as a process of the stack. Nothing comes from
the network; production configures the office's real seal and TSA instead."""

import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from deploy.local.processes import ProcessGroup, free_port, http_ok
from services.signing.seal_certificates import DemoSealFiles, write_demo_seal

LOOPBACK = "127.0.0.1"
TSA = "tsa"


@dataclass(frozen=True)
class DemoSigning:
    """The demo seal's files and the local TSA's address."""

    files: DemoSealFiles
    tsa_url: str

    def environment(self) -> dict[str, str]:
        """The signing service's settings for this seal and TSA."""
        return {
            "MYBROKER_SIGNING_SEAL_PKCS12_PATH": str(self.files.seal_path),
            "MYBROKER_SIGNING_SEAL_PASSPHRASE": self.files.seal_passphrase,
            "MYBROKER_SIGNING_TRUST_BUNDLE_PATH": str(self.files.ca_path),
            "MYBROKER_SIGNING_TSA_URL": self.tsa_url,
        }


def start_demo_signing(group: ProcessGroup, directory: Path, port: int | None = None
                       ) -> DemoSigning:
    """Write a fresh demo seal into `directory` and start the local TSA on `port`."""
    files = write_demo_seal(directory, secrets.token_urlsafe(18))
    port = port or free_port()
    group.start(TSA, [sys.executable, "-m", "deploy.local.demo_tsa",
                      "--cert", str(files.tsa_cert_path), "--key", str(files.tsa_key_path),
                      "--host", LOOPBACK, "--port", str(port)],
                cwd=Path(__file__).resolve().parents[2])
    url = f"http://{LOOPBACK}:{port}/"
    group.wait_until(TSA, lambda: http_ok(f"{url}health"), what="answering")
    return DemoSigning(files=files, tsa_url=url)
