"""Settings of the requests service (`MYBROKER_REQUESTS_*`)."""

from typing import ClassVar

from pydantic import Field, SecretStr

from libs.servicekit.cursor_signing import CursorSecret
from libs.servicekit.settings import ServiceSettings, env_prefix


class RequestsSettings(ServiceSettings):
    model_config = env_prefix("requests")
    secret_fields: ClassVar[tuple[str, ...]] = ("cursor_secret",)

    # Per account: this many messages at once, then one per interval (a person writing to the
    # office never notices; a script flooding the office's inbox is held back).
    message_burst: int = 5
    message_interval_seconds: float = 12.0
    # Per account: this many attachment uploads (each up to 10 files) at once, then one per
    # interval.
    attachment_burst: int = 10
    attachment_interval_seconds: float = 6.0
    # Forms: expired drafts (30 days after their last save) are purged this often.
    draft_purge_seconds: float = 3600.0
    cursor_secret: CursorSecret = Field(
        default=SecretStr(""), description="Key of the HMAC that signs the lists' page cursors "
        "(at least 32 characters, the same on every replica); dev/test: a random one if empty")
