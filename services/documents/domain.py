"""Rules of the documents the broker publishes into a dossier (no I/O)."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from libs.contracts.documents import (
    BodyVariant,
    ContextKind,
    DocumentContext,
    DocumentProblem,
    DocumentPublic,
    RenditionPublic,
    RenditionState,
    UploaderKind,
)
from services.documents.sniffing import BROWSER_IMAGE_TYPES, ViewKind

# Dossier ids become the first part of an S3 key; the dossier import allows only these characters.
DOSSIER_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class DocumentState(StrEnum):
    """Where a document stands; only published documents are ever shown."""

    UPLOADING = "uploading"  # an upload slot was handed out; the body is on its way to S3
    PUBLISHED = "published"  # the stored body was verified; listed in the dossier
    REJECTED = "rejected"  # the stored body failed verification and was removed


class StoredBody(StrEnum):
    """The objects a document keeps in S3: the original, its PDF rendition, its thumbnail."""

    ORIGINAL = "original"
    RENDITION = "rendition"
    THUMBNAIL = "thumbnail"


@dataclass(frozen=True)
class Body:
    """One stored object of a document, with what serving and verifying it need."""

    stored: StoredBody
    key: str
    filename: str
    content_type: str
    size: int
    sha256: str
    verified_at: datetime | None  # when its stored bytes last hashed right, end to end

    @property
    def rangeable(self) -> bool:
        """PDF viewers ask for byte ranges; every other body is served whole."""
        return self.content_type == "application/pdf"


def verified_recently(verified_at: datetime | None, now: datetime, verified_for: timedelta) -> bool:
    """A range of a body may be served only when the whole body hashed right this recently."""
    return verified_at is not None and now - verified_at <= verified_for


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
    context: DocumentContext = DocumentContext()
    uploader_kind: UploaderKind = UploaderKind.STAFF
    size: int | None = None
    sha256: str | None = None
    uploaded_at: datetime | None = None
    rejection_reason: str | None = None
    view: ViewKind = ViewKind.NONE
    rendition_state: RenditionState = RenditionState.PENDING
    rendition_reason: str | None = None
    # The PDF made from the original, or the JPEG of an image browsers cannot show (HEIC);
    # None: the original is its own view.
    rendition_key: str | None = None
    rendition_size: int | None = None
    rendition_sha256: str | None = None
    thumbnail_key: str | None = None
    thumbnail_size: int | None = None
    thumbnail_sha256: str | None = None
    damaged: bool = False
    damage_reason: str | None = None
    original_verified_at: datetime | None = None
    rendition_verified_at: datetime | None = None
    thumbnail_verified_at: datetime | None = None
    scrubbed_at: datetime | None = None  # the scrubber's last pass (publication counts as one)
    # The staff batch whose announcement (one mail) names this document; set once, so no
    # document is announced twice. Never set for a client's upload.
    announced_in: str | None = None

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
            context=self.context,
            uploader_kind=self.uploader_kind,
            rendition=RenditionPublic(
                state=self.rendition_state,
                content_type=self.view_content_type(),
                reason=self.rendition_reason,
                has_thumbnail=self.thumbnail_key is not None,
            ),
            damaged=self.damaged,
        )

    def to_problem(self) -> DocumentProblem:
        """What staff see of a damaged document or a failed upload."""
        return DocumentProblem(
            document_id=self.document_id, dossier_id=self.dossier_id, title=self.title,
            filename=self.filename, problem="damaged" if self.damaged else "upload_failed",
            reason=self.damage_reason if self.damaged else self.rejection_reason,
            created_at=self.created_at)

    def stored_bodies(self) -> list[Body]:
        """Every object this published document keeps in S3."""
        if self.size is None or self.sha256 is None:
            return []
        stem = self.filename.rsplit(".", 1)[0] or "document"
        bodies = [Body(StoredBody.ORIGINAL, self.object_key, self.filename, self.content_type,
                       self.size, self.sha256, self.original_verified_at)]
        if (self.rendition_key is not None and self.rendition_size is not None
                and self.rendition_sha256 is not None):
            # The view of a document: a PDF, or the JPEG of a photo browsers cannot show (HEIC).
            view_name, view_type = ((f"{stem}.jpg", "image/jpeg") if self.view == ViewKind.IMAGE
                                    else (f"{stem}.pdf", "application/pdf"))
            bodies.append(Body(StoredBody.RENDITION, self.rendition_key, view_name, view_type,
                               self.rendition_size, self.rendition_sha256,
                               self.rendition_verified_at))
        if (self.thumbnail_key is not None and self.thumbnail_size is not None
                and self.thumbnail_sha256 is not None):
            bodies.append(Body(StoredBody.THUMBNAIL, self.thumbnail_key,
                               f"{stem}-thumbnail.jpg", "image/jpeg", self.thumbnail_size,
                               self.thumbnail_sha256, self.thumbnail_verified_at))
        return bodies

    def body(self, variant: BodyVariant) -> Body | None:
        """The body a variant is served from; None while it does not exist (yet)."""
        bodies = {body.stored: body for body in self.stored_bodies()}
        if variant == BodyVariant.ORIGINAL:
            return bodies.get(StoredBody.ORIGINAL)
        if self.rendition_state != RenditionState.READY:
            return None
        if variant == BodyVariant.THUMBNAIL:
            return bodies.get(StoredBody.THUMBNAIL)
        # A PDF or an image is its own view.
        return bodies.get(StoredBody.RENDITION, bodies.get(StoredBody.ORIGINAL))

    def view_content_type(self) -> str | None:
        """The type of what the viewer shows: a PDF, or the image itself; None when nothing."""
        if self.view == ViewKind.IMAGE:
            return self.content_type if self.content_type in BROWSER_IMAGE_TYPES else "image/jpeg"
        if self.view == ViewKind.NONE:
            return None
        return "application/pdf"


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


def context_problem(context: DocumentContext) -> str | None:
    """Why a context cannot hold documents, or None: every context but the general one names
    its object."""
    if context.kind in (ContextKind.GENERAL, ContextKind.OFFICE) and context.ref_id is not None:
        return f"The {context.kind.value} context has no object id."
    if context.kind not in (ContextKind.GENERAL, ContextKind.OFFICE) and context.ref_id is None:
        return f"A {context.kind.value} context needs the id of its object."
    return None


def upload_problems(
    *, dossier_id: str, filename: str, size: int, max_bytes: int, context: DocumentContext,
    quota_left: int,
) -> dict[str, str]:
    """What is wrong with an announced upload, per field; empty when it may start."""
    problems: dict[str, str] = {}
    if not DOSSIER_ID_PATTERN.fullmatch(dossier_id):
        problems["dossier_id"] = "The dossier id is not valid."
    if (problem := filename_problem(filename)) is not None:
        problems["filename"] = problem
    if (problem := context_problem(context)) is not None:
        problems["context"] = problem
    if size > max_bytes:
        problems["size"] = f"The file is larger than the {_megabytes(max_bytes)} allowed."
    elif size > quota_left:
        problems["size"] = "The dossier's storage quota is used up."
    return problems


def stored_body_problem(
    *, reported_size: int, stored_size: int, max_bytes: int
) -> str | None:
    """Why the body found in S3 may not be published, or None when it may."""
    if stored_size != reported_size:
        return (
            f"The stored file has {stored_size} bytes, not the {reported_size} bytes reported."
        )
    if stored_size > max_bytes:
        return f"The file is larger than the {_megabytes(max_bytes)} allowed."
    return None


def unviewable_problem(view: ViewKind, *, viewable_only: bool) -> str | None:
    """Why a file may not be published when only files MyBroker can show are wanted, or None."""
    if viewable_only and view == ViewKind.NONE:
        return "MyBroker cannot show this type of file (unknown type)."
    return None


def initial_rendition(view: ViewKind) -> tuple[RenditionState, str | None]:
    """A PDF is its own view; an unknown type has none; the rest wait for the worker."""
    if view == ViewKind.PDF:
        return RenditionState.READY, None
    if view == ViewKind.NONE:
        return RenditionState.FAILED, "This file type cannot be shown; download the original."
    return RenditionState.PENDING, None


def rendition_key(key: str) -> str:
    """Where the PDF made from the object at `key` is kept."""
    return f"{key}.view.pdf"


def image_view_key(key: str) -> str:
    """Where the JPEG shown of the image at `key` is kept, when browsers cannot show it."""
    return f"{key}.view.jpg"


def needs_image_view(content_type: str) -> bool:
    """An image browsers do not show themselves (HEIC) is viewed as a JPEG made of it."""
    return content_type not in BROWSER_IMAGE_TYPES


def thumbnail_key(key: str) -> str:
    """Where the thumbnail of the image at `key` is kept."""
    return f"{key}.thumb.jpg"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


# --- announcements (one mail per staff batch) -------------------------------------------------


def announced_context(documents: list[StoredDocument]) -> DocumentContext:
    """The context a batch's mail names: the one its documents share, else the dossier's
    general data, which lists the documents of every context (manual 3.4)."""
    contexts = {(document.context.kind, document.context.ref_id) for document in documents}
    return documents[0].context if len(contexts) == 1 else DocumentContext()


def overdue_announcements(
    unannounced: list[StoredDocument], now: datetime, wait: timedelta
) -> dict[str, list[StoredDocument]]:
    """The staff documents to announce now, per dossier: those of dossiers that received no
    unannounced document for `wait` (the publish page may still be sending the batch's other
    files: announcing earlier would split one batch over two mails). Files the office attached
    to its answer to a request are not announced: the answer's own mail tells the client."""
    by_dossier: dict[str, list[StoredDocument]] = {}
    for document in unannounced:
        if (document.uploader_kind == UploaderKind.STAFF and document.announced_in is None
                and document.context.kind != ContextKind.REQUEST):
            by_dossier.setdefault(document.dossier_id, []).append(document)
    return {dossier_id: sorted(documents, key=_published_moment)
            for dossier_id, documents in by_dossier.items()
            if max(_published_moment(document) for document in documents) <= now - wait}


def _published_moment(document: StoredDocument) -> datetime:
    return document.uploaded_at or document.created_at
