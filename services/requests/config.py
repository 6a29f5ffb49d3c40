"""Settings of the requests service (`MYBROKER_REQUESTS_*`)."""

from typing import Annotated, ClassVar

from pydantic import Field, SecretStr

from libs.contracts.requests import RequestKind
from libs.servicekit.cursor_signing import CursorSecret
from libs.servicekit.export_storage import ExportStorageSettings
from libs.servicekit.settings import ServiceSettings, env_prefix


class RequestsSettings(ServiceSettings, ExportStorageSettings):
    model_config = env_prefix("requests")  # hides input in errors: no secret in start-up logs
    secret_fields: ClassVar[tuple[str, ...]] = ("cursor_secret",)

    # Per account: this many messages at once, then one per interval (a person writing to the
    # office never notices; a script flooding the office's inbox is held back).
    message_burst: int = 5
    message_interval_seconds: float = 12.0
    # Per account: this many attachment uploads (each up to 10 files) at once, then one per
    # interval.
    attachment_burst: int = 10
    attachment_interval_seconds: float = 6.0
    # The client sheet (manual 4.5): due again this many days after its last confirmation; the
    # job looking for due sheets (and emitting their reminders) runs this often.
    client_sheet_validity_days: float = 365.0
    client_sheet_check_seconds: float = 3600.0
    # Per account: this many confirmed sheets at once, then one per interval.
    client_sheet_burst: int = 3
    client_sheet_interval_seconds: float = 600.0
    cursor_secret: CursorSecret = Field(
        default=SecretStr(""), description="Key of the HMAC that signs the desk's and the "
        "changes feed's page cursors (at least 32 characters, the same on every replica); "
        "dev/test: a random one if empty")
    # Service level: the office's first answer is due this many Belgian working days after a
    # request arrives (JSON in the environment: {"claim": 1}); other kinds take the default.
    target_working_days: dict[RequestKind, Annotated[int, Field(ge=0, le=60)]] = Field(
        default_factory=lambda: {RequestKind.CLAIM: 1})
    default_target_working_days: int = Field(default=2, ge=0, le=60)
    # Office hours (Europe/Brussels): a request arriving outside them starts its clock at the
    # next working day's opening.
    office_opens_hour: int = Field(default=9, ge=0, le=23)
    office_closes_hour: int = Field(default=17, ge=1, le=24)
    # Forms: expired drafts (30 days after their last save) are purged this often.
    draft_purge_seconds: float = 3600.0
