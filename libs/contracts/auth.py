"""Contracts of the auth service: accounts, invitations, sessions, dossier grants."""

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, EmailStr, Field, field_validator

from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import Event
from libs.contracts.ids import DossierId, ObjectId
from libs.contracts.rpc import Ack, RpcMethod
from libs.contracts.shown_names import GivenName, ShownName

# The password rule auth judges by; the pages show it to guide the person typing.
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128  # bounds the hashing work one request can ask for

# --- models ---------------------------------------------------------------------------------


class UserPublic(BaseModel):
    """An account as shown to staff and to its owner."""

    user_id: str
    email: EmailStr
    display_name: ShownName
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


class StaffOrigin(BaseModel):
    """Where a staff action came from, for the audit log (filled in by the gateway)."""

    client_ip: str | None = None
    user_agent: str | None = Field(default=None, max_length=500)


class CreateStaffRequest(BaseModel):
    caller: Caller
    email: EmailStr
    display_name: GivenName = Field(min_length=1, max_length=200)
    role: Role
    password: str
    origin: StaffOrigin | None = None


class InviteClientRequest(BaseModel):
    caller: Caller
    email: EmailStr
    display_name: GivenName = Field(min_length=1, max_length=200)
    language: str = Field(default="nl", pattern="^(nl|fr|en)$")
    dossier_ids: list[DossierId] = Field(default_factory=list, max_length=100)
    correlation_id: str | None = None
    origin: StaffOrigin | None = None


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
    device_token: str | None = Field(
        default=None, max_length=64, description="The browser's device cookie: a device the "
        "account logged in from before passes the address's lockout")


class RefreshRequest(BaseModel):
    refresh_token: str


class LogoutRequest(BaseModel):
    refresh_token: str | None = None
    session_id: str | None = None


class GrantRequest(BaseModel):
    caller: Caller
    user_id: ObjectId
    dossier_id: DossierId
    origin: StaffOrigin | None = None


class UserLookupRequest(BaseModel):
    caller: Caller
    user_id: ObjectId


class FindUserRequest(BaseModel):
    """Staff look an account up by its e-mail address."""

    caller: Caller
    email: EmailStr


class RevokedSessionsRequest(BaseModel):
    since: datetime


class RevokedGrant(BaseModel):
    """A dossier taken away from a client: tokens issued until `revoked_at` no longer carry it."""

    user_id: str
    dossier_id: str
    revoked_at: datetime


class RevokedSessions(BaseModel):
    session_ids: list[str]
    grants: list[RevokedGrant] = Field(
        default_factory=list, description="Dossier grants taken away since the same moment")


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


class RegistrationCreate(BaseModel):
    """What a person fills in to register ("Zich inschrijven"): the API's body as it is."""

    last_name: GivenName = Field(min_length=1, max_length=100)
    first_name: GivenName = Field(min_length=1, max_length=100)
    birth_date: date
    email: EmailStr
    phone: str = Field(min_length=6, max_length=30)
    national_number: str | None = Field(default=None, max_length=20)
    message: str | None = Field(default=None, max_length=2000)
    language: str = Field(default="nl", pattern="^(nl|fr|en)$")


class RegisterRequest(RegistrationCreate):
    """Self-registration, as the gateway passes it on; the same answer whether the address is
    known."""

    client_ip: str | None = None


class RegistrationLookupRequest(BaseModel):
    token: str


class RegistrationPreview(BaseModel):
    """What the confirmation page shows: the address, read-only, and the name."""

    email: EmailStr
    display_name: str


class ConfirmRegistrationRequest(BaseModel):
    """The address confirmed and the password chosen (auth judges the password's rules)."""

    token: str = Field(min_length=1)
    password: str = Field(min_length=1, max_length=1024)


class RegistrationPublic(BaseModel):
    """A registration as staff see it."""

    registration_id: str
    status: str = Field(description="awaiting_confirmation | pending | approved | refused")
    last_name: ShownName
    first_name: ShownName
    birth_date: date
    email: EmailStr
    phone: str
    national_number: str | None = None
    message: str | None = None
    language: str
    user_id: str | None = None
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    refusal_reason: str | None = None
    dossier_ids: list[str] = Field(default_factory=list)


class RegistrationList(BaseModel):
    registrations: list[RegistrationPublic]


class ListRegistrationsRequest(BaseModel):
    caller: Caller
    status: str = Field(
        default="pending", pattern="^(awaiting_confirmation|pending|approved|refused)$")


class ApproveRegistrationRequest(BaseModel):
    caller: Caller
    registration_id: ObjectId
    dossier_ids: list[DossierId] = Field(
        min_length=1, max_length=100, description="Dossiers the client gets access to")
    origin: StaffOrigin | None = None


class RefuseRegistrationRequest(BaseModel):
    caller: Caller
    registration_id: ObjectId
    reason: str = Field(min_length=1, max_length=1000)
    origin: StaffOrigin | None = None


class AccountActionRequest(BaseModel):
    """A staff action on one account: disable it, resend or revoke its invitation."""

    caller: Caller
    user_id: ObjectId
    origin: StaffOrigin | None = None


AuditActionKind = Literal["account", "invitation", "grant", "registration", "eid", "staff",
                          "office"]
"""What an audit entry's action is about: the part of `action` before the first dot."""
AUDIT_CURSOR_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00:00/[0-9a-f]{32}$"


class AuditQuery(BaseModel):
    caller: Caller
    limit: int = Field(default=100, ge=1, le=1000)
    action_kind: AuditActionKind | None = Field(default=None, description="Only these actions")
    actor_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$",
                                 description="Only the actions of this staff member")
    before: str | None = Field(
        default=None, pattern=AUDIT_CURSOR_PATTERN,
        description="Only entries older than this one (`next_before` of the previous page)")

    @field_validator("before")
    @classmethod
    def _a_real_moment(cls, before: str | None) -> str | None:
        if before is not None:
            datetime.fromisoformat(before.partition("/")[0])  # hour 26 is a ValueError
        return before


class AuditEntry(BaseModel):
    """One staff action: who, what, on what, when, from where."""

    entry_id: str
    at: datetime
    actor_id: str
    actor_role: Role
    action: str
    target: str
    details: dict[str, str] = Field(default_factory=dict)
    client_ip: str | None = None
    user_agent: str | None = None
    actor_name: str | None = Field(default=None, description="The staff member's name now")
    target_name: str | None = Field(
        default=None, description="The name of the account the action was about, if any")


class StaffMember(BaseModel):
    user_id: str
    display_name: str


class AuditLog(BaseModel):
    entries: list[AuditEntry]
    next_before: str | None = Field(default=None, description="The cursor of the next page")
    staff: list[StaffMember] = Field(
        default_factory=list, description="The office's staff, to filter the log by")


class StaffDirectoryRequest(BaseModel):
    """Any staff member asks who works at the office (to assign a request to a colleague)."""

    caller: Caller


class StaffDirectory(BaseModel):
    """The office's active staff accounts, by name."""

    staff: list[StaffMember]


class EidRefusal(StrEnum):
    """Why a card cannot log in, given with a refused eID login under `EID_REFUSAL_FIELD`, so
    a page says it in the reader's language. The card holder learns nothing new: it is their
    own card; whether an account is linked to it is never told this way."""

    NOT_AN_AUTHENTICATION_CERTIFICATE = "not_an_authentication_certificate"
    OUT_OF_DATE = "out_of_date"
    UNTRUSTED = "untrusted"


EID_REFUSAL_FIELD = "certificate"


class EidLoginRequest(BaseModel):
    """A client certificate forwarded by the trusted proxy (PEM)."""

    certificate_pem: str = Field(max_length=20_000)
    client_ip: str | None = None


class EidLoginReply(BaseModel):
    """Logged in (tokens), or an eID not linked yet (link_token to ask for the link)."""

    tokens: TokenPair | None = None
    link_token: str | None = Field(
        default=None, description="Proves the checked eID for 30 minutes; give it with an e-mail")
    display_name: str | None = None


class EidLinkRequest(BaseModel):
    """The eID holder asks to link the card to the account of this e-mail address."""

    link_token: str
    email: EmailStr


class EidLinkPublic(BaseModel):
    """A request to link an eID to an account, as staff see it."""

    link_id: str
    status: str = Field(description="requested | accepted | refused")
    email: EmailStr
    display_name: str
    national_number: str
    created_at: datetime
    user_id: str | None = None
    decided_by: str | None = None


class EidLinkList(BaseModel):
    links: list[EidLinkPublic]


class ListEidLinksRequest(BaseModel):
    caller: Caller


class AcceptEidLinkRequest(BaseModel):
    caller: Caller
    link_id: ObjectId
    origin: StaffOrigin | None = None


class RefuseEidLinkRequest(BaseModel):
    caller: Caller
    link_id: ObjectId
    reason: str = Field(min_length=1, max_length=1000)
    origin: StaffOrigin | None = None


class DossierMembersRequest(BaseModel):
    """Who should hear about news in a dossier (staff, or a service acting for the office)."""

    caller: Caller
    dossier_id: DossierId


class DossierMember(BaseModel):
    user_id: str
    email: EmailStr
    display_name: ShownName
    language: str = "nl"


class DossierMembers(BaseModel):
    members: list[DossierMember]


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
FIND_USER = RpcMethod("auth.rpc.find_user", FindUserRequest, UserPublic)
LIST_DOSSIER_MEMBERS = RpcMethod(
    "auth.rpc.list_dossier_members", DossierMembersRequest, DossierMembers
)
LIST_REVOKED_SESSIONS = RpcMethod(
    "auth.rpc.list_revoked_sessions", RevokedSessionsRequest, RevokedSessions
)
REQUEST_PASSWORD_RESET = RpcMethod("auth.rpc.request_password_reset", PasswordResetRequest, Ack)
LOOK_UP_PASSWORD_RESET = RpcMethod(
    "auth.rpc.look_up_password_reset", PasswordResetLookupRequest, PasswordResetPreview
)
RESET_PASSWORD = RpcMethod("auth.rpc.reset_password", ResetPasswordRequest, TokenPair)
CHANGE_PASSWORD = RpcMethod("auth.rpc.change_password", ChangePasswordRequest, Ack)
REGISTER = RpcMethod("auth.rpc.register", RegisterRequest, Ack)
LOOK_UP_REGISTRATION = RpcMethod(
    "auth.rpc.look_up_registration", RegistrationLookupRequest, RegistrationPreview
)
CONFIRM_REGISTRATION = RpcMethod(
    "auth.rpc.confirm_registration", ConfirmRegistrationRequest, Ack
)
LIST_REGISTRATIONS = RpcMethod(
    "auth.rpc.list_registrations", ListRegistrationsRequest, RegistrationList
)
APPROVE_REGISTRATION = RpcMethod(
    "auth.rpc.approve_registration", ApproveRegistrationRequest, RegistrationPublic
)
REFUSE_REGISTRATION = RpcMethod(
    "auth.rpc.refuse_registration", RefuseRegistrationRequest, RegistrationPublic
)
DISABLE_USER = RpcMethod("auth.rpc.disable_user", AccountActionRequest, UserPublic)
RESEND_INVITATION = RpcMethod("auth.rpc.resend_invitation", AccountActionRequest, InvitationPublic)
REVOKE_INVITATION = RpcMethod("auth.rpc.revoke_invitation", AccountActionRequest, UserPublic)
LIST_AUDIT = RpcMethod("auth.rpc.list_audit", AuditQuery, AuditLog)
LIST_STAFF = RpcMethod("auth.rpc.list_staff", StaffDirectoryRequest, StaffDirectory)
EID_LOG_IN = RpcMethod("auth.rpc.eid_log_in", EidLoginRequest, EidLoginReply)
REQUEST_EID_LINK = RpcMethod("auth.rpc.request_eid_link", EidLinkRequest, Ack)
LIST_EID_LINKS = RpcMethod("auth.rpc.list_eid_links", ListEidLinksRequest, EidLinkList)
ACCEPT_EID_LINK = RpcMethod("auth.rpc.accept_eid_link", AcceptEidLinkRequest, EidLinkPublic)
REFUSE_EID_LINK = RpcMethod("auth.rpc.refuse_eid_link", RefuseEidLinkRequest, EidLinkPublic)

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


class GrantRevoked(Event):
    """Staff took a dossier away from a client; gateways stop honouring it in the client's
    current access tokens at once (a refresh gives tokens without it)."""

    routing_key = "auth.grant.revoked"

    user_id: str
    revoked_at: datetime = Field(description="Tokens issued up to this moment lose the dossier")


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


class RegistrationConfirmationRequested(Event):
    """Someone registered; the notifier mails the link to confirm the address."""

    routing_key = "auth.registration.confirmation_requested"

    registration_id: str
    email: EmailStr
    display_name: str
    language: str
    confirmation_token: str = Field(description="Secret for the link; only its hash is stored")
    expires_at: datetime


class RegistrationDecided(Event):
    """Staff approved or refused a registration; the notifier tells the client."""

    routing_key = "auth.registration.decided"

    registration_id: str
    user_id: str | None
    email: EmailStr
    display_name: str
    language: str
    approved: bool
    reason: str | None = None


class RegistrationPending(Event):
    """A registered person confirmed the address and chose a password: the registration waits
    for the office's decision; the notifier tells the office."""

    routing_key = "auth.registration.pending"

    registration_id: str
    user_id: str
    email: EmailStr
    display_name: str


class EidLinkRequested(Event):
    """An eID holder asked to link the card to the account of an address: it waits for the
    office's decision; the notifier tells the office (never the card's national number)."""

    routing_key = "auth.eid.link_requested"

    link_id: str
    email: EmailStr
    display_name: str


class EidLinked(Event):
    """Staff linked an eID to an account; the notifier tells the client it now logs in."""

    routing_key = "auth.eid.linked"

    link_id: str
    user_id: str
    email: EmailStr
    display_name: str
    language: str


class EidLinkRefused(Event):
    """Staff refused to link an eID; the notifier tells the given address, with the reason."""

    routing_key = "auth.eid.link_refused"

    link_id: str
    email: EmailStr
    display_name: str
    language: str
    reason: str


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
    auth_time: int | None = Field(default=None, description="When the session's login (the "
                                  "password or the eID) happened; refreshes keep it")

    def caller(self) -> Caller:
        """The identity services receive in RPC requests."""
        return Caller(user_id=self.sub, role=self.role, dossier_ids=self.dossiers)
