"""Contracts of the login lockout: the unlock link mailed to the owner of a locked address.

Failed logins from unknown devices lock an address for a while (auth's back-off); its owner is
mailed once per lockout a single-use link with which the password works again from any device.
"""

from datetime import datetime

from pydantic import BaseModel, EmailStr, Field

from libs.contracts.auth import TokenPair
from libs.contracts.envelope import Event
from libs.contracts.rpc import RpcMethod

DEVICE_TOKEN_MAX_LENGTH = 64


class UnlockLookupRequest(BaseModel):
    token: str = Field(max_length=128)


class UnlockPreview(BaseModel):
    """What the unlock page shows: the address the link signs in."""

    email: EmailStr


class UnlockLoginRequest(BaseModel):
    """The password with the mailed unlock link: passes the address's lockout, once."""

    token: str = Field(max_length=128)
    password: str
    client_ip: str | None = None
    device_token: str | None = Field(
        default=None, max_length=DEVICE_TOKEN_MAX_LENGTH,
        description="The browser's device cookie; trusted by the account after this login")


LOOK_UP_UNLOCK = RpcMethod("auth.rpc.look_up_unlock", UnlockLookupRequest, UnlockPreview)
UNLOCK_LOG_IN = RpcMethod("auth.rpc.unlock_log_in", UnlockLoginRequest, TokenPair)


class LoginLockedOut(Event):
    """Failed logins locked an address for unknown devices; the notifier mails its owner."""

    routing_key = "auth.login.locked_out"

    unlock_id: str
    user_id: str
    email: EmailStr
    display_name: str
    language: str
    unlock_token: str = Field(description="Secret for the link; only its hash is stored")
    expires_at: datetime
