"""Settings of the auth service (`MYBROKER_AUTH_*`), grouped by the capability that reads them."""

from typing import ClassVar

from pydantic import Field, SecretStr, model_validator

from libs.servicekit.cursor_signing import CursorSecret
from libs.servicekit.export_storage import ExportStorageSettings
from libs.servicekit.settings import ServiceSettings, env_prefix
from services.auth.domain import MAX_ACCESS_TOKEN_SECONDS, password_problem

# OWASP's minimum for argon2id (m=19 MiB, t=2, p=1); the settings refuse anything weaker.
MIN_ARGON2_MEMORY_KIB = 19456
MIN_ARGON2_TIME_COST = 2


class AuthSettings(ServiceSettings, ExportStorageSettings):
    model_config = env_prefix("auth")  # hides input in errors: no password in start-up logs
    # In prod the private key must be configured; dev/test fall back to an in-memory key.
    secret_fields: ClassVar[tuple[str, ...]] = ("jwt_private_key_path", "cursor_secret")

    # --- sessions: access and refresh tokens (sessions/) ---
    jwt_private_key_path: str = ""
    access_token_seconds: int = Field(default=300, ge=10, le=MAX_ACCESS_TOKEN_SECONDS)
    refresh_idle_days: int = Field(default=14, ge=1, description="Session ends when unused so long")
    session_max_days: int = Field(default=30, ge=1, description="Session ends so long after login")

    # --- sessions/lockout: back-off after failed logins (ASVS 6.3.1): per typed e-mail
    # address for devices the account does not know (and per known device), and per client IP
    # address; the mailed unlock link ---
    account_failure_limit: int = Field(default=10, ge=1, description="Failures before back-off")
    account_first_wait_seconds: int = Field(default=60, ge=1)
    account_longest_wait_seconds: int = Field(default=3600, ge=1)
    ip_failure_limit: int = Field(
        default=50, ge=1, le=10_000, description="Failures from one address within the window"
        " (offices share one address behind NAT); a success does not reset them")
    ip_failure_window_minutes: int = Field(
        default=60, ge=1, le=1440, description="How long an IP address's failure counts")
    trusted_devices_per_account: int = Field(
        default=10, ge=1, le=100, description="Devices (device cookies) that pass the address's"
        " lockout; the least recently used is forgotten first")
    unlock_link_minutes: int = Field(
        default=60, ge=5, le=240, description="The mailed link that passes a lockout works so long")

    # --- accounts: invitations, the office lists' cursors, the first admin (accounts/) ---
    invitation_days: int = Field(default=7, ge=1)
    cursor_secret: CursorSecret = Field(
        default=SecretStr(""), description="Key of the HMAC that signs the office lists' page "
        "cursors (at least 32 characters, the same on every replica); dev/test: random if empty")
    bootstrap_admin_email: str = ""
    bootstrap_admin_password: SecretStr = SecretStr("")
    bootstrap_admin_name: str = "Office admin"

    # --- registration (registration/) ---
    registration_confirmation_hours: int = Field(
        default=24, ge=1, le=168, description="A registration's confirmation link works so long")

    # --- passwords: reset links and hashing (passwords/) ---
    password_reset_minutes: int = Field(
        default=30, ge=5, le=30, description="A reset link works so long (ASVS: at most 30 min)")
    argon2_memory_kib: int = Field(default=MIN_ARGON2_MEMORY_KIB, ge=MIN_ARGON2_MEMORY_KIB)
    argon2_time_cost: int = Field(default=MIN_ARGON2_TIME_COST, ge=MIN_ARGON2_TIME_COST)
    argon2_parallelism: int = Field(default=1, ge=1)
    password_hashing_concurrency: int = Field(
        default=2, ge=1, description="Hashes computed at once; a login flood queues behind these"
    )
    password_hashing_queue: int = Field(
        default=16, ge=0, description="Logins that may wait for a hash; more get 503 at once")
    password_hashing_wait_seconds: float = Field(
        default=3.0, gt=0, description="A login waits so long for a hash, then gets 503 (keep it"
        " under the gateway's RPC timeout)")

    # --- mail_quota: account mails (reset links, registration confirmations) per address (ASVS
    # 2.x abuse) ---
    mail_limit_per_address: int = Field(
        default=3, ge=1, description="Mails of one kind to one address within the window")
    mail_limit_window_minutes: int = Field(default=60, ge=1)

    # --- eid (eid/) ---
    eid_trust_bundle_path: str = Field(
        default="", description="PEM bundle of the eID roots and Citizen CAs; empty: no eID login")

    # --- privacy: the clients' data exports (GDPR articles 15 and 20), owned here: see
    # privacy/exports.py ---
    export_limit_per_day: int = Field(default=3, ge=1, description="Exports one account may "
                                      "ask for within 24 hours (each reads the whole dossier)")
    export_time_limit_seconds: int = Field(
        default=1800, ge=60, description="An export not complete so long after the request "
        "fails, saying which part is missing")
    export_lifetime_days: int = Field(default=7, ge=1, le=30,
                                      description="The ZIP can be downloaded so long")
    export_sweep_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _bootstrap_admin_is_complete(self) -> "AuthSettings":
        """A half-configured first admin is an operator mistake: refuse to start."""
        password = self.bootstrap_admin_password.get_secret_value()
        if self.bootstrap_admin_email and not password:
            raise ValueError("MYBROKER_AUTH_BOOTSTRAP_ADMIN_PASSWORD is missing")
        if self.bootstrap_admin_email:
            problem = password_problem(password)
            if problem is not None:
                raise ValueError(f"MYBROKER_AUTH_BOOTSTRAP_ADMIN_PASSWORD: {problem}")
        return self
