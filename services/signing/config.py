"""Settings of the signing service (`MYBROKER_SIGNING_*`)."""

from typing import ClassVar

from pydantic import Field, SecretStr

from libs.servicekit.cursor_signing import CursorSecret
from libs.servicekit.export_storage import ExportStorageSettings
from libs.servicekit.settings import ServiceSettings, env_prefix


class SigningSettings(ServiceSettings, ExportStorageSettings):
    model_config = env_prefix("signing")
    secret_fields: ClassVar[tuple[str, ...]] = ("seal_pkcs12_path", "seal_passphrase",
                                                 "trust_bundle_path", "cursor_secret")

    # The office's sealing certificate and key (PKCS#12) and its passphrase. Outside production
    # an unset seal is replaced by a throw-away demo hierarchy that lives as long as the process.
    seal_pkcs12_path: str = ""
    seal_passphrase: str = ""
    # The CA certificates (PEM) the verification trusts: the seal's and the TSA's roots.
    trust_bundle_path: str = ""
    # RFC 3161 timestamp authority; empty: sealed without a timestamp (PAdES B-B).
    tsa_url: str = ""
    office_name: str = "MyBroker"
    cursor_secret: CursorSecret = Field(
        default=SecretStr(""), description="Key of the HMAC that signs the office's list of "
        "signature requests' page cursors (at least 32 characters, the same on every "
        "replica); dev/test: random if empty")
    # A login older than this asks for the password again before a signature (ASVS 5.0).
    reauthenticate_after_seconds: int = 900
    # A signer who has not signed is reminded this many days after the last mail, at most
    # `max_reminders` times.
    reminder_after_days: float = 3.0
    max_reminders: int = 3
    # How often reminders, due dates and unfinished seals are looked at.
    check_seconds: float = 60.0
    # A seal begun this long ago and not finished (a crash) is started again.
    seal_claim_seconds: float = 120.0
