"""Rules of the documents the broker publishes into a dossier (no I/O)."""

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from libs.contracts.documents import DocumentPublic

# This slice accepts PDF only: the manual shows every document as PDF, and conversion comes later.
ALLOWED_CONTENT_TYPES = frozenset({"application/pdf"})
PDF_SIGNATURE = b"%PDF-"
# Dossier ids become the first part of an S3 key; the dossier import allows only these characters.
DOSSIER_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class DocumentState(StrEnum):
    """Where a document stands; only published documents are ever shown."""

    UPLOADING = "uploading"  # an upload slot was handed out; the body is on its way to S3
    PUBLISHED = "published"  # the stored body was verified; listed in the dossier
    REJECTED = "rejected"  # the stored body failed verification and was removed


class StoredDocument(BaseModel):
    """A document's metadata as the service keeps it."""

    document_id: str
    dossier_id: str
    title: str
    filename: str
    content_type: str
    declared_size: int
    object_key: str
    state: DocumentState
    uploaded_by: str
    created_at: datetime
    size: int | None = None
    sha256: str | None = None
    uploaded_at: datetime | None = None
    rejection_reason: str | None = None

    def to_public(self) -> DocumentPublic:
        """The metadata callers see; only a published document has all of it."""
        if self.size is None or self.sha256 is None or self.uploaded_at is None:
            raise ValueError(f"document {self.document_id} is not published")
        return DocumentPublic(
            document_id=self.document_id,
            dossier_id=self.dossier_id,
            title=self.title,
            filename=self.filename,
            content_type=self.content_type,
            size=self.size,
            sha256=self.sha256,
            uploaded_by=self.uploaded_by,
            uploaded_at=self.uploaded_at,
        )


def normalized_content_type(content_type: str) -> str:
    """The media type without parameters, in lower case ("Application/PDF; x=1" -> pdf)."""
    return content_type.split(";", 1)[0].strip().lower()


def object_key(dossier_id: str, document_id: str) -> str:
    """Where the body lives in the bucket: grouped per dossier."""
    return f"{dossier_id}/{document_id}"


def filename_problem(filename: str) -> str | None:
    """Why a file name may not be kept (it is shown and used in downloads), or None."""
    if not filename.strip():
        return "The file name is empty."
    if "/" in filename or "\\" in filename or filename in {".", ".."}:
        return "The file name may not contain a path."
    if _CONTROL_CHARACTERS.search(filename):
        return "The file name contains control characters."
    return None


def upload_problems(
    *, dossier_id: str, filename: str, content_type: str, size: int, max_bytes: int
) -> dict[str, str]:
    """What is wrong with an announced upload, per field; empty when it may start."""
    problems: dict[str, str] = {}
    if not DOSSIER_ID_PATTERN.fullmatch(dossier_id):
        problems["dossier_id"] = "The dossier id is not valid."
    if (problem := filename_problem(filename)) is not None:
        problems["filename"] = problem
    if normalized_content_type(content_type) not in ALLOWED_CONTENT_TYPES:
        problems["content_type"] = "Only PDF documents can be published."
    if size > max_bytes:
        problems["size"] = f"The file is larger than the {_megabytes(max_bytes)} allowed."
    return problems


def looks_like_pdf(head: bytes) -> bool:
    """True when the first bytes are a PDF header (the declared type alone proves nothing)."""
    return head.startswith(PDF_SIGNATURE)


def stored_body_problem(
    *, reported_size: int, stored_size: int, max_bytes: int, head: bytes
) -> str | None:
    """Why the body found in S3 may not be published, or None when it may."""
    if stored_size != reported_size:
        return (
            f"The stored file has {stored_size} bytes, not the {reported_size} bytes reported."
        )
    if stored_size > max_bytes:
        return f"The file is larger than the {_megabytes(max_bytes)} allowed."
    if not looks_like_pdf(head):
        return "The file is not a PDF document."
    return None


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"
