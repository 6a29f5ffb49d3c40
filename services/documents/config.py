"""Settings of the documents service (`MYBROKER_DOCUMENTS_*`)."""

from typing import ClassVar

from pydantic import Field, SecretStr

from libs.contracts.documents import CLIENT_ATTACHMENT_MAX_BYTES, MIB
from libs.servicekit.cursor_signing import CursorSecret
from libs.servicekit.export_storage import ExportStorageSettings
from libs.servicekit.settings import ServiceSettings, env_prefix

__all__ = ["MIB", "DocumentsSettings"]


class DocumentsSettings(ServiceSettings, ExportStorageSettings):
    model_config = env_prefix("documents")
    secret_fields: ClassVar[tuple[str, ...]] = ("s3_access_key", "s3_secret_key",
                                                "cursor_secret")

    s3_endpoint: str = "http://127.0.0.1:8333"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "mybroker-documents"
    s3_region: str = "us-east-1"
    s3_timeout_seconds: float = 10.0
    max_upload_bytes: int = 50 * MIB  # a staff upload
    client_max_upload_bytes: int = CLIENT_ATTACHMENT_MAX_BYTES  # manual 4.4 and 6
    dossier_quota_bytes: int = 1024 * MIB  # everything stored in one dossier together
    cursor_secret: CursorSecret = Field(
        default=SecretStr(""), description="Key of the HMAC that signs the documents list's "
        "page cursors (at least 32 characters, the same on every replica); dev/test: random "
        "if empty")
    soffice_path: str = "soffice"
    conversion_timeout_seconds: float = 60.0
    # Address space of one LibreOffice run and its children (a normal office file needs about
    # 250 MiB; a file that inflates to gigabytes fails at this limit instead of taking the RAM)
    conversion_memory_mib: int = 1024
    max_concurrent_conversions: int = 2
    orphan_sweep_seconds: float = 3600.0
    orphan_grace_seconds: float = 3600.0  # an upload younger than this may still be arriving
    # Staff files the publish page sent but never announced (the browser closed before its
    # batch call) are announced by the service once a dossier received none for this long.
    announce_after_seconds: float = 600.0
    announce_check_seconds: float = 60.0
    presign_seconds: int = 300  # lifetime of the upload and download links the gateway gets
    # Integrity of stored bodies. A byte range cannot be checked against the hash, so a range
    # is served only from a body that hashed right within `verified_for_seconds`; the scrubber
    # re-hashes every body once it is older, at most `scrub_bytes_per_second`.
    verified_for_seconds: float = 86400.0
    range_check_wait_seconds: float = 3.0  # longer: the whole body is served, verified, instead
    scrub_bytes_per_second: int = 4 * MIB
    scrub_idle_seconds: float = 60.0  # the scrubber's rest when every body is fresh
