"""Contracts of the auth service: accounts, invitations, sessions, dossier grants."""

from datetime import datetime

from pydantic import BaseModel, EmailStr, Field

from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import Event
from libs.contracts.rpc import Ack, RpcMethod

# --- models ---------------------------------------------------------------------------------


class UserPublic(BaseModel):
    """An account as shown to staff and to its owner."""

    user_id: str
    email: EmailStr
    display_name: str
    role: Role
    status: str = Field(description="invited | active | disabled")
    language: str = "nl"
    dossier_ids: list[str] = Field(default_factory=list)


class TokenPair(BaseModel):
    """A short-lived signed access token and its rotating refresh token."""

    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - OAuth token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires")


class InvitationPublic(BaseModel):
    """An invitation as staff see it (never the secret token)."""

    invitation_id: str
    user_id: str
    email: EmailStr
    expires_at: datetime


# --- RPC requests ---------------------------------------------------------------------------


class CreateStaffRequest(BaseModel):
    caller: Caller
    email: EmailStr
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str


class InviteClientRequest(BaseModel):
    caller: Caller
    email: EmailStr
    display_name: str = Field(min_length=1, max_length=200)
    language: str = Field(default="nl", pattern="^(nl|fr|en)$")
    dossier_ids: list[str] = Field(default_factory=list)
    correlation_id: str | None = None


class InvitationLookupRequest(BaseModel):
    token: str


class InvitationPreview(BaseModel):
    """What the activation page shows: the e-mail address, read-only."""

    email: EmailStr
    display_name: str
    language: str


class ActivateRequest(BaseModel):
    token: str
    password: str


class LoginRequest(BaseModel):
    email: str
    password: str
    client_ip: str | None = None


class RefreshRequest(BaseModel):
    refresh_token: str


class LogoutRequest(BaseModel):
    refresh_token: str | None = None
    session_id: str | None = None


class GrantRequest(BaseModel):
    caller: Caller
    user_id: str
    dossier_id: str


class UserLookupRequest(BaseModel):
    caller: Caller
    user_id: str


class RevokedSessionsRequest(BaseModel):
    since: datetime


class RevokedSessions(BaseModel):
    session_ids: list[str]


class PasswordResetRequest(BaseModel):
    """"Forgot your password?": same answer whether or not the address has an account."""

    email: str = Field(max_length=320)
    client_ip: str | None = None


class PasswordResetLookupRequest(BaseModel):
    token: str


class PasswordResetPreview(BaseModel):
    """What the reset page shows: whose password is being reset."""

    email: EmailStr


class ResetPasswordRequest(BaseModel):
    token: str
    password: str


class ChangePasswordRequest(BaseModel):
    """A signed-in user changes their password; their other sessions end."""

    caller: Caller
    session_id: str = Field(description="The session that stays open (the caller's own)")
    current_password: str
    new_password: str


# --- RPC methods ----------------------------------------------------------------------------

CREATE_STAFF = RpcMethod("auth.rpc.create_staff", CreateStaffRequest, UserPublic)
INVITE_CLIENT = RpcMethod("auth.rpc.invite_client", InviteClientRequest, InvitationPublic)
LOOK_UP_INVITATION = RpcMethod(
    "auth.rpc.look_up_invitation", InvitationLookupRequest, InvitationPreview
)
ACTIVATE = RpcMethod("auth.rpc.activate", ActivateRequest, TokenPair)
LOG_IN = RpcMethod("auth.rpc.log_in", LoginRequest, TokenPair)
REFRESH = RpcMethod("auth.rpc.refresh", RefreshRequest, TokenPair)
LOG_OUT = RpcMethod("auth.rpc.log_out", LogoutRequest, Ack)
GRANT_DOSSIER = RpcMethod("auth.rpc.grant_dossier", GrantRequest, UserPublic)
REVOKE_DOSSIER = RpcMethod("auth.rpc.revoke_dossier", GrantRequest, UserPublic)
GET_USER = RpcMethod("auth.rpc.get_user", UserLookupRequest, UserPublic)
LIST_REVOKED_SESSIONS = RpcMethod(
    "auth.rpc.list_revoked_sessions", RevokedSessionsRequest, RevokedSessions
)
REQUEST_PASSWORD_RESET = RpcMethod("auth.rpc.request_password_reset", PasswordResetRequest, Ack)
LOOK_UP_PASSWORD_RESET = RpcMethod(
    "auth.rpc.look_up_password_reset", PasswordResetLookupRequest, PasswordResetPreview
)
RESET_PASSWORD = RpcMethod("auth.rpc.reset_password", ResetPasswordRequest, TokenPair)
CHANGE_PASSWORD = RpcMethod("auth.rpc.change_password", ChangePasswordRequest, Ack)

# --- events ---------------------------------------------------------------------------------


class InvitationCreated(Event):
    """Staff invited a client; the notifier mails the activation link."""

    routing_key = "auth.invitation.created"

    invitation_id: str
    user_id: str
    email: EmailStr
    display_name: str
    language: str
    activation_token: str = Field(description="Secret for the link; only its hash is stored")
    expires_at: datetime


class SessionRevoked(Event):
    """A session ended (logout, disable); gateways refuse its access tokens from now on."""

    routing_key = "auth.session.revoked"

    session_id: str
    user_id: str


class PasswordResetRequested(Event):
    """Someone asked to reset an account's password; the notifier mails the reset link."""

    routing_key = "auth.password_reset.requested"

    reset_id: str
    user_id: str
    email: EmailStr
    display_name: str
    language: str
    reset_token: str = Field(description="Secret for the link; only its hash is stored")
    expires_at: datetime


class PasswordChanged(Event):
    """An account's password was changed or reset; the notifier warns its owner by mail."""

    routing_key = "auth.password.changed"

    user_id: str
    email: EmailStr
    display_name: str
    language: str
    how: str = Field(description="reset (through the mail link) | change (signed in)")


# --- access token ---------------------------------------------------------------------------

# Names, not secrets:
ACCESS_TOKEN_ISSUER = "mybroker-auth"  # noqa: S105
ACCESS_TOKEN_AUDIENCE = "mybroker"  # noqa: S105
ACCESS_TOKEN_ALGORITHM = "EdDSA"  # noqa: S105  # Ed25519: auth signs with its private key, gateways verify


class AccessClaims(BaseModel):
    """The claims of an access token (a JWT of at most 5 minutes)."""

    iss: str = ACCESS_TOKEN_ISSUER
    aud: str = ACCESS_TOKEN_AUDIENCE
    sub: str = Field(description="user id")
    sid: str = Field(description="session id; revoked on logout")
    role: Role
    email: str
    name: str
    lang: str = "nl"
    dossiers: list[str] = Field(default_factory=list, description="granted dossier ids")
    iat: int
    exp: int

    def caller(self) -> Caller:
        """The identity services receive in RPC requests."""
        return Caller(user_id=self.sub, role=self.role, dossier_ids=self.dossiers)
