"""Container health check: exit 0 when MYBROKER_PROBE_URL answers 200 (Docker HEALTHCHECK).

The image runs any service or the gateway, each on its own port, so the URL comes from the
environment; urllib keeps the check free of curl/wget in the slim image.
"""

import os
import sys
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/health/live"


def probe(url: str, timeout: float = 2.0) -> bool:
    """True when `url` answers 200 within `timeout` seconds."""
    if not url.startswith(("http://", "https://")):
        return False
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http(s) only
            return bool(response.status == 200)
    except OSError:
        return False


def main() -> None:
    """Probe the configured URL; the exit code is the health."""
    sys.exit(0 if probe(os.environ.get("MYBROKER_PROBE_URL", DEFAULT_URL)) else 1)


if __name__ == "__main__":
    main()
