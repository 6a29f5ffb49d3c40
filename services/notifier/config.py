"""Settings of the notifier service (`MYBROKER_NOTIFIER_*`)."""

import json
from datetime import time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from libs.servicekit.export_storage import ExportStorageSettings
from libs.servicekit.settings import ServiceSettings, env_prefix

# Our names -> the provider's JSON fields ("[]": sent as a one-element list); "id" is read back.
SMS_API_FIELDS = {"to": "to", "sender": "from", "text": "text", "reference": "reference",
                  "id": "id"}


def digest_clock(value: str) -> tuple[time, ZoneInfo]:
    """`"17:00 Europe/Brussels"` -> (17:00, the zone); ValueError when it is not that shape."""
    parts = value.split()
    if len(parts) != 2:
        raise ValueError("client_digest_at is 'HH:MM Area/City', e.g. '17:00 Europe/Brussels'")
    try:
        return time.fromisoformat(parts[0]), ZoneInfo(parts[1])
    except (ValueError, KeyError) as error:
        raise ValueError(f"client_digest_at: {error}") from error


class NotifierSettings(ServiceSettings, ExportStorageSettings):
    model_config = env_prefix("notifier")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False  # dev's SMTP sink speaks plain SMTP; production relays need True
    smtp_implicit_tls: bool = False  # TLS from the first byte (port 465) instead of STARTTLS
    smtp_timeout_seconds: float = 30.0
    # A connection stays open this long after a mail for the next one (relays close idle
    # sessions after a minute or more; 0: a connection per mail).
    smtp_keep_alive_seconds: float = 10.0
    from_email: str = "MyBroker <no-reply@mybroker.local>"
    office_email: str = "office@mybroker.local"  # where the office's mails go by default
    # Per request kind, another address for the office's mails (JSON), e.g. the claims desk:
    # {"claim": "claims@broker.be"}; kinds not named go to office_email.
    office_addresses: dict[str, str] = Field(default_factory=dict)
    office_language: str = "nl"
    public_url: str = "http://127.0.0.1:8000"  # base of the links in mails
    # Messages of one dossier arriving within this window make one office mail, not one each.
    # The first one is mailed at once; 0: each one is mailed at once.
    office_digest_window_seconds: float = 60.0
    # A request's news for its client (office answers, status changes) waits this long after
    # its last change, so a status that flips back and forth makes one mail (or none); never
    # longer than the second value after the first change.
    client_update_delay_seconds: float = 60.0
    client_update_longest_seconds: float = 300.0
    # How often due office mails are sent and stalled hand-offs looked for.
    mail_check_seconds: float = 5.0
    # A mail still `sending` this long after its hand-off began was cut off by a crash (no
    # SMTP exchange lasts longer than the timeout): it becomes `uncertain`, for staff to decide.
    sending_stalled_after_seconds: float = 120.0
    # A mail SMTP refuses (or cannot be reached for) is tried again in-process this many times
    # in all, waiting base * 2^n seconds (at most the cap) with jitter between attempts; then
    # it is dead-lettered: the event goes to the dead-letter queue, the mail to staff. The
    # defaults ride out a relay away for a minute or more. Windows (office digests, request
    # news, client digests) are tried once per mail check, as many times.
    smtp_retry_attempts: int = Field(default=8, ge=1, le=30)
    smtp_retry_base_seconds: float = Field(default=1.0, ge=0)
    smtp_retry_max_seconds: float = Field(default=30.0, ge=0)
    # When the clients' daily digest goes (local time and zone): one mail per client and day
    # with every item their preferences held back that day.
    client_digest_at: str = "17:00 Europe/Brussels"
    # FAULT-INJECTION HOOK, for the crash tests only: when set, the process kills itself
    # (SIGKILL) right after SMTP accepted a mail to an address containing this text, before the
    # outcome is recorded. Refused in production.
    fault_kill_after_smtp_to: str = ""

    # SMS port (mobile signature codes). `sink`: one JSON file per SMS in `sms_sink_dir` (dev,
    # tests); `http`: the provider's JSON API (deploy/README.md says which providers fit).
    sms_provider: Literal["sink", "http"] = "sink"
    sms_sink_dir: str = ".run/sms"
    sms_api_url: str = ""
    # Secret: the provider's authentication headers as JSON, e.g. {"Authorization": "Bearer …"}
    # or {"X-Client-Id": "…", "X-Client-Secret": "…"}; never logged.
    sms_api_headers: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    sms_api_fields: dict[str, str] = Field(default_factory=lambda: dict(SMS_API_FIELDS))
    sms_api_constants: dict[str, str] = Field(default_factory=dict)  # e.g. {"route": "business"}
    sms_sender: str = "MyBroker"  # alphanumeric sender id: at most 11 characters
    sms_timeout_seconds: float = 5.0
    sms_attempts: int = Field(default=3, ge=1, le=10)
    sms_backoff_seconds: float = 0.5
    sms_breaker_failures: int = Field(default=5, ge=1)
    sms_breaker_reset_seconds: float = 30.0
    sms_region: str = "BE"  # numbers typed without country code
    sms_per_number_per_hour: int = Field(default=5, ge=1)
    sms_per_account_per_day: int = Field(default=10, ge=1)

    @field_validator("sms_api_headers", mode="before")
    @classmethod
    def _headers_from_json(cls, value: object) -> object:
        # An empty variable (compose's `${VAR:-}`, an absent optional Secret key) means none.
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    def office_address(self, kind: str) -> str:
        """Where the office's mails about a request of `kind` go."""
        return self.office_addresses.get(kind) or self.office_email

    @field_validator("client_digest_at")
    @classmethod
    def _digest_time_is_valid(cls, value: str) -> str:
        digest_clock(value)
        return value

    @model_validator(mode="after")
    def _sms_provider_is_complete(self) -> "NotifierSettings":
        if self.sms_provider == "http" and not (self.sms_api_url and self.sms_api_headers):
            raise ValueError("the http SMS provider needs sms_api_url and sms_api_headers")
        return self

    @model_validator(mode="after")
    def _one_way_to_tls(self) -> "NotifierSettings":
        if self.smtp_starttls and self.smtp_implicit_tls:
            raise ValueError("choose STARTTLS (port 587) or implicit TLS (port 465), not both")
        return self

    @model_validator(mode="after")
    def _no_fault_injection_in_production(self) -> "NotifierSettings":
        if self.environment == "prod" and self.fault_kill_after_smtp_to:
            raise ValueError("fault_kill_after_smtp_to is a test hook; it is refused in prod")
        return self
