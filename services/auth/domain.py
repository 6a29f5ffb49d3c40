"""Rules of accounts, invitations and sessions: pure, no I/O."""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from stdnum.be import nn as belgian_nn
from stdnum.exceptions import ValidationError

from libs.contracts.auth import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, AccessClaims, UserPublic
from libs.contracts.caller import STAFF_ROLES, Role
from services.auth.passwords.policy import is_common_password

MAX_ACCESS_TOKEN_SECONDS = 300  # gateways trust a token this long without asking auth
WRONG_CREDENTIALS = "E-mail address or password is wrong."
AWAITS_BROKER = (
    "Your account awaits the approval of your broker. You will receive an e-mail as soon as "
    "it is approved.")
COMMON_PASSWORD = "This password is too common or too predictable; choose another one."  # noqa: S105


class UserStatus(StrEnum):
    """Where an account stands; only an active account may log in."""

    INVITED = "invited"  # the broker sent the activation link; no password yet
    PENDING = "pending"  # registered and confirmed by the client; awaits the broker's approval
    ACTIVE = "active"
    DISABLED = "disabled"


@dataclass(frozen=True)
class Account:
    """A user of MyBroker: a client of the office or a member of its staff."""

    user_id: str
    email: str
    display_name: str
    role: Role
    status: UserStatus
    language: str = "nl"
    dossier_ids: list[str] = field(default_factory=list)
    password_hash: str | None = None
    # Hashes of the device cookies the account logged in with, oldest first (bounded).
    trusted_devices: list[str] = field(default_factory=list)

    @property
    def is_staff(self) -> bool:
        """True for the broker's agents and admins."""
        return self.role in STAFF_ROLES

    def public(self) -> UserPublic:
        """The account as staff and its owner see it (never the password hash)."""
        return UserPublic(
            user_id=self.user_id, email=self.email, display_name=self.display_name,
            role=self.role, status=self.status.value, language=self.language,
            dossier_ids=list(self.dossier_ids),
        )


def normalize_email(email: str) -> str:
    """One spelling per address, so `Jan@Example.be` and `jan@example.be` are one account."""
    return email.strip().lower()


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None: length and the common-passwords list only.

    Composition rules ("a digit and a capital") add nothing (NIST 800-63B, ASVS 6.2).
    """
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"The password must have at least {PASSWORD_MIN_LENGTH} characters."
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"The password must have at most {PASSWORD_MAX_LENGTH} characters."
    if is_common_password(password):
        return COMMON_PASSWORD
    return None


def new_secret_token() -> str:
    """An unguessable token (256 bits) for an activation link or a refresh token."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What is stored of a secret token: a leaked database cannot be replayed as links or logins."""
    return hashlib.sha256(token.encode()).hexdigest()


def device_hash(device_token: str | None) -> str | None:
    """What is kept of a device cookie: its hash (a leaked database trusts no browser)."""
    return hash_token(device_token) if device_token else None


# --- invitations ------------------------------------------------------------------------------


class InvitationState(StrEnum):
    """Whether an activation link can still be used."""

    OPEN = "open"
    USED = "used"
    EXPIRED = "expired"


def invitation_expiry(created_at: datetime, valid_days: int) -> datetime:
    """When an invitation made at `created_at` stops working."""
    return created_at + timedelta(days=valid_days)


def invitation_state(
    expires_at: datetime, used_at: datetime | None, now: datetime
) -> InvitationState:
    """A link works once, and only before it expires."""
    if used_at is not None:
        return InvitationState.USED
    if now >= expires_at:
        return InvitationState.EXPIRED
    return InvitationState.OPEN


def cut_short(created_at: datetime, expires_at: datetime) -> bool:
    """True when an invitation stopped before its full lifetime: links live whole days (see
    invitation_expiry), so an end off that grid was set by a revocation or a newer link."""
    off_grid = (expires_at - created_at) % timedelta(days=1)
    return timedelta(seconds=1) < off_grid < timedelta(days=1) - timedelta(seconds=1)


def listed_invitation_state(
    expires_at: datetime, used_at: datetime | None, ended: str | None, now: datetime
) -> str:
    """What the office list calls an invitation: used, revoked (by staff, a newer link or the
    account's disabling), expired, or pending (the link still works)."""
    if used_at is not None:
        return "used"
    if ended:
        return "revoked"
    return "expired" if now >= expires_at else "pending"


# --- access tokens ----------------------------------------------------------------------------


def build_access_claims(
    account: Account, session_id: str, now: datetime, lifetime_seconds: int,
    authenticated_at: datetime | None = None,
) -> AccessClaims:
    """The claims of an access token carrying the account's grants as they are now, and when
    the session's login happened (refreshes keep it: re-authentication looks at it)."""
    issued_at = int(now.timestamp())
    lifetime = min(lifetime_seconds, MAX_ACCESS_TOKEN_SECONDS)
    return AccessClaims(
        sub=account.user_id, sid=session_id, role=account.role, email=account.email,
        name=account.display_name, lang=account.language,
        # Staff see every dossier of the office; grants only matter for clients.
        dossiers=[] if account.is_staff else sorted(account.dossier_ids),
        iat=issued_at, exp=issued_at + lifetime,
        auth_time=int((authenticated_at or now).timestamp()),
    )


# --- sessions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRecord:
    """What a refresh decision needs to know of a stored session."""

    session_id: str
    user_id: str
    refresh_token_hash: str
    previous_refresh_hashes: list[str]
    created_at: datetime
    last_refreshed_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class SessionLimits:
    """How long a session lives: idle (since the last refresh) and in total (since login)."""

    idle: timedelta
    maximum: timedelta

    def idle_expiry(self, session: SessionRecord) -> datetime:
        """When the session ends if nobody refreshes it (used for the purge date too)."""
        return min(session.last_refreshed_at + self.idle, session.created_at + self.maximum)


class RefreshOutcome(StrEnum):
    """What to do with a presented refresh token."""

    ROTATE = "rotate"  # valid: issue a new pair, forget this token
    REUSED = "reused"  # an already-rotated token: it leaked or was replayed -> revoke the session
    REVOKED = "revoked"  # the session was ended (logout, reuse)
    EXPIRED = "expired"  # idle or too old: log in again
    UNKNOWN = "unknown"  # not a token of this session


def decide_refresh(
    session: SessionRecord, presented_hash: str, now: datetime, limits: SessionLimits
) -> RefreshOutcome:
    """Refresh-token rotation with reuse detection (OAuth 2.0 Security BCP §4.14)."""
    if session.revoked_at is not None:
        return RefreshOutcome.REVOKED
    if presented_hash in session.previous_refresh_hashes:
        return RefreshOutcome.REUSED
    if presented_hash != session.refresh_token_hash:
        return RefreshOutcome.UNKNOWN
    if now >= limits.idle_expiry(session):
        return RefreshOutcome.EXPIRED
    return RefreshOutcome.ROTATE


# --- self-registration ------------------------------------------------------------------------


class RegistrationStatus(StrEnum):
    """Where a self-registration stands (manual 1.1, "Zich inschrijven")."""

    AWAITING_CONFIRMATION = "awaiting_confirmation"  # the address is not confirmed yet
    PENDING = "pending"  # confirmed, password chosen: the broker decides
    APPROVED = "approved"
    REFUSED = "refused"


def national_number_problem(national_number: str, birth_date: date) -> str | None:
    """Why a Belgian national register number is refused, or None (checksum, birth date)."""
    try:
        compact = belgian_nn.validate(national_number)
    except ValidationError:
        return "This is not a valid Belgian national register number."
    born = belgian_nn.get_birth_date(compact)  # None when the number hides the day or month
    if born is not None and born != birth_date:
        return "The national register number does not match the birth date."
    return None
