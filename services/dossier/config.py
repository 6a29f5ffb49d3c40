"""Settings of the dossier service (`MYBROKER_DOSSIER_*`)."""

from typing import ClassVar

from pydantic import Field, SecretStr

from libs.servicekit.cursor_signing import CursorSecret
from libs.servicekit.export_storage import ExportStorageSettings
from libs.servicekit.settings import ServiceSettings, env_prefix


class DossierSettings(ServiceSettings, ExportStorageSettings):
    model_config = env_prefix("dossier")  # hides input in errors: no secret in start-up logs
    secret_fields: ClassVar[tuple[str, ...]] = ("cursor_secret",)

    cursor_secret: CursorSecret = Field(
        default=SecretStr(""), description="Key of the HMAC that signs the lists' page cursors "
        "(at least 32 characters, the same on every replica); dev/test: a random one if empty")
