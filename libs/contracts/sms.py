"""Contracts of the notifier's SMS port: one text message to a phone, sent at most once.

The signing service (identity validation of the mobile signature) calls `SEND_SMS` with its own
service caller (role agent, user id `service:<name>`): clients never reach the port directly, and
the notifier refuses a client caller. The text is never free: the caller names a template
(`SmsPurpose`) and its parameters, so a compromised caller cannot send arbitrary texts in the
office's name.
"""

from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from libs.contracts.caller import Caller
from libs.contracts.rpc import RpcMethod


class SmsPurpose(StrEnum):
    """Why the SMS is sent; selects its text (NL, FR, EN) and the parameters it needs."""

    IDENTITY_CODE = "identity_code"  # parameters: code (4-8 digits), valid_minutes


class SmsStatus(StrEnum):
    """Where one SMS stands. `uncertain`: the provider may or may not have it (a timeout after
    the request left, or a crash while sending); never retried automatically, staff decide."""

    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # nothing was delivered; the same idempotency key may be tried again
    UNCERTAIN = "uncertain"


class SendSmsRequest(BaseModel):
    """Send one templated SMS. The same `idempotency_key` never sends twice."""

    caller: Caller
    idempotency_key: str = Field(min_length=8, max_length=200, pattern=r"^[A-Za-z0-9:._\-]+$")
    purpose: SmsPurpose
    phone_number: str = Field(max_length=40, description="As typed; normalised to E.164")
    account_id: str = Field(min_length=1, max_length=100,
                            description="Whose account the SMS is for (rate limit per account)")
    language: Literal["nl", "fr", "en"] = "nl"
    parameters: dict[str, str] = Field(default_factory=dict, max_length=8)


class SmsReceipt(BaseModel):
    """What became of an SMS (a replayed request gets the first request's receipt)."""

    sms_id: str
    status: SmsStatus
    phone_number: str = Field(description="E.164, e.g. +32470123456")
    requested_at: datetime
    finished_at: datetime | None = None


SEND_SMS = RpcMethod("notifier.rpc.send_sms", SendSmsRequest, SmsReceipt)


class SmsSender(Protocol):
    """What a service needs to send an SMS (servicekit's RpcClient over `SEND_SMS`, or a fake).

    Errors: Invalid (number or parameters; `fields` says which), RateLimited (`retry_after`
    seconds in `fields`), Forbidden (a client caller), Conflict (the key was used for another
    SMS, or the same SMS is being sent right now: `retry_after`), Unavailable (the provider is
    down; `retry_after` in `fields`). A send with retries can take up to about 25 s with the
    default settings: call with a longer RPC timeout than the default 5 s, and retry with the
    same key after a timeout (it never sends twice).
    """

    async def send_sms(self, request: SendSmsRequest) -> SmsReceipt:
        """Send the SMS of `request` once, or raise one of the errors above."""
        ...
