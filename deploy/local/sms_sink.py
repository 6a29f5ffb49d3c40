"""Reading the SMS the notifier's sink stored (one JSON file each), as a person reads a phone."""

import json
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReceivedSms:
    """One stored SMS: the caller's idempotency key, the E.164 number, the text, when."""

    sms_id: str
    to: str
    text: str
    sent_at: str


def read_sms(directory: Path) -> list[ReceivedSms]:
    """Every SMS in `directory`, oldest first (empty when nothing was sent yet)."""
    if not directory.is_dir():
        return []
    # File names start with the time in nanoseconds; `.partial` files are not finished yet.
    stored = sorted(directory.glob("*.json"), key=lambda path: path.name)
    return [ReceivedSms(**{field: json.loads(path.read_text())[field]
                           for field in ("sms_id", "to", "text", "sent_at")})
            for path in stored]


def wait_for_sms(
    directory: Path, to: str, *, containing: str = "", timeout: float = 30.0
) -> ReceivedSms:
    """Wait for an SMS to `to` (E.164) whose text has `containing`; the latest if several."""
    deadline = time.monotonic() + timeout
    while True:
        found = [sms for sms in read_sms(directory) if sms.to == to and containing in sms.text]
        if found:
            return found[-1]
        if time.monotonic() > deadline:
            raise TimeoutError(f"no SMS to {to} containing {containing!r} after {timeout:.0f} s "
                               f"in {directory}")
        time.sleep(0.2)
