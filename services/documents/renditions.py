"""The rendition worker: on DocumentPublished, make the document's view (a PDF or a thumbnail).

State machine per document: pending -> ready | failed (with the reason). Only a pending
rendition is worked on and recorded, so a redelivered event is a no-op. A file that cannot be
converted fails (the original stays downloadable); a store that cannot be reached raises, and
the event is delivered again later. Conversions run as subprocesses (or in a thread for
thumbnails), at most `max_concurrent` at once, so the service keeps answering meanwhile.
"""

import asyncio
import hashlib
import tempfile
import time
from pathlib import Path

from libs.contracts.documents import DocumentPublished, RenditionState
from libs.servicekit.logs import get_logger
from services.documents.conversion import (
    ConversionFailed,
    make_image_view,
    make_thumbnail,
    readable_text,
    soffice_to_pdf,
)
from services.documents.domain import (
    StoredDocument,
    image_view_key,
    needs_image_view,
    rendition_key,
    thumbnail_key,
)
from services.documents.object_storage import ObjectStorage
from services.documents.sniffing import ViewKind
from services.documents.store import DocumentsStore

log = get_logger(__name__)
MAX_TEXT_BYTES = 5 * 1024 * 1024  # longer text files are not rendered (the original remains)
_CHUNK = 1024 * 1024


def _file_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return path.stat().st_size, digest.hexdigest()


class RenditionWorker:
    """Makes the view of each published document that needs one."""

    def __init__(
        self, store: DocumentsStore, storage: ObjectStorage, *, soffice: str,
        timeout_seconds: float, memory_bytes: int, max_concurrent: int,
    ) -> None:
        self._store = store
        self._storage = storage
        self._soffice = soffice
        self._timeout_seconds = timeout_seconds
        self._memory_bytes = memory_bytes
        # One LibreOffice profile per concurrent conversion, reused: creating one costs ~1 s.
        self._profiles: asyncio.Queue[Path] = asyncio.Queue()
        profiles_root = Path(tempfile.mkdtemp(prefix="lo-mybroker-"))
        for slot in range(max_concurrent):
            self._profiles.put_nowait(profiles_root / f"profile-{slot}")

    async def on_document_published(self, event: DocumentPublished) -> None:
        """Render the published document, unless that was done before."""
        document = await self._store.get(event.document_id)
        if document is None or document.rendition_state != RenditionState.PENDING:
            return
        await self.render(document)

    async def render(self, document: StoredDocument) -> None:
        """Make and store the view of a pending document, then record the outcome."""
        profile = await self._profiles.get()
        try:
            await self._render_with(document, profile)
        finally:
            self._profiles.put_nowait(profile)

    async def _render_with(self, document: StoredDocument, profile: Path) -> None:
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="mybroker-rendition-") as directory:
            workdir = Path(directory)
            try:
                outcome = await self._make_view(document, workdir, profile)
            except ConversionFailed as failure:
                await self._store.finish_rendition(
                    document.document_id, state=RenditionState.FAILED, reason=str(failure))
                log.warning("rendition failed", document_id=document.document_id,
                            content_type=document.content_type, reason=str(failure))
                return
        rendition, thumbnail = outcome
        await self._store.finish_rendition(
            document.document_id, state=RenditionState.READY, rendition=rendition,
            thumbnail=thumbnail)
        log.info("rendition ready", document_id=document.document_id,
                 content_type=document.content_type,
                 seconds=round(time.monotonic() - started, 3))

    async def _make_view(
        self, document: StoredDocument, workdir: Path, profile: Path
    ) -> tuple[tuple[str, int, str] | None, tuple[str, int, str] | None]:
        """(rendition, thumbnail) as (key, size, sha256): what was made and stored."""
        source = workdir / ("original" + Path(document.filename).suffix.lower()[:10])
        await self._storage.download_to(document.object_key, source)
        if document.view == ViewKind.IMAGE:
            return await self._image_views(document, source, workdir)
        if document.view == ViewKind.TEXT:
            if source.stat().st_size > MAX_TEXT_BYTES:
                raise ConversionFailed("The text is too long to be shown as PDF.")
            text = workdir / "document.txt"
            readable = await asyncio.to_thread(
                readable_text, source.read_bytes(), document.content_type)
            text.write_text(readable, encoding="utf-8")
            pdf = await soffice_to_pdf(text, workdir, soffice=self._soffice, profile=profile,
                                       timeout_seconds=self._timeout_seconds,
                                       memory_bytes=self._memory_bytes, utf8_text=True)
        elif document.view == ViewKind.OFFICE:
            pdf = await soffice_to_pdf(source, workdir, soffice=self._soffice, profile=profile,
                                       timeout_seconds=self._timeout_seconds,
                                       memory_bytes=self._memory_bytes)
        else:
            raise ConversionFailed("This file type cannot be shown; download the original.")
        return await self._store_file(
            rendition_key(document.object_key), pdf, "application/pdf"), None

    async def _image_views(
        self, document: StoredDocument, source: Path, workdir: Path
    ) -> tuple[tuple[str, int, str] | None, tuple[str, int, str]]:
        """The thumbnail of an image, and a JPEG to view when browsers cannot show it."""
        view = None
        if needs_image_view(document.content_type):
            jpeg = workdir / "view.jpg"
            await asyncio.to_thread(make_image_view, source, jpeg)
            view = await self._store_file(image_view_key(document.object_key), jpeg,
                                          "image/jpeg")
        thumbnail = workdir / "thumbnail.jpg"
        await asyncio.to_thread(make_thumbnail, source, thumbnail)
        return view, await self._store_file(
            thumbnail_key(document.object_key), thumbnail, "image/jpeg")

    async def _store_file(self, key: str, path: Path, content_type: str) -> tuple[str, int, str]:
        size, sha256 = await asyncio.to_thread(_file_digest, path)
        await self._storage.upload_from(key, path, content_type)
        return key, size, sha256
