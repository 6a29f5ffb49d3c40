"""The orphan sweep: metadata and S3 objects that lost each other are repaired and reported.

An upload writes twice: the metadata ("uploading") first, then the body to S3, then the metadata
again ("published"). A crash between the writes leaves an upload that never completes (its
body may or may not be in S3); a lost object leaves metadata without a body; a body can also
outlive its metadata. Anything younger than the grace period may still be on its way and is
left alone. Every repair is logged ("orphan sweep repaired") and counted for the operator's
dashboards: `mybroker_documents_orphans_total{kind}`, and the time of the last sweep that ran
through in `mybroker_documents_orphan_sweep_completed_timestamp_seconds`.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from prometheus_client import Counter, Gauge

from libs.contracts.envelope import utc_now
from libs.servicekit.logs import get_logger
from services.documents.integrity import FoundBy, record_damage
from services.documents.object_storage import ObjectStorage
from services.documents.store import DocumentsStore

log = get_logger(__name__)
# Renditions (PDF, or the JPEG of a HEIC photo) and thumbnails of an original.
_DERIVED_SUFFIXES = (".view.pdf", ".view.jpg", ".thumb.jpg")
orphans_total = Counter(
    "mybroker_documents_orphans_total",
    "Orphans the sweep repaired: abandoned_upload (metadata of an upload that never completed),"
    " missing_body (a published document without its object), stray_object (an object without"
    " metadata)", ["kind"])
sweep_completed = Gauge(
    "mybroker_documents_orphan_sweep_completed_timestamp_seconds",
    "When the orphan sweep last ran through (Unix time)")


@dataclass
class SweepReport:
    """What one sweep found and did."""

    abandoned_uploads: list[str] = field(default_factory=list)  # rejected, body removed
    missing_bodies: list[str] = field(default_factory=list)  # published, marked damaged
    stray_objects: list[str] = field(default_factory=list)  # objects without metadata, removed


def _original_key(key: str) -> str:
    for suffix in _DERIVED_SUFFIXES:
        if key.endswith(suffix):
            return key.removesuffix(suffix)
    return key


class OrphanSweep:
    """Compares the metadata with the bucket and repairs what does not match."""

    def __init__(self, store: DocumentsStore, storage: ObjectStorage, *, grace: timedelta) -> None:
        self._store = store
        self._storage = storage
        self._grace = grace

    async def sweep(self) -> SweepReport:
        """One pass over the metadata and the bucket."""
        report = SweepReport()
        before = utc_now() - self._grace
        for upload in await self._store.uploading_before(before):
            await self._store.reject(upload.document_id, "The upload was never completed.")
            await self._storage.remove(upload.object_key)
            report.abandoned_uploads.append(upload.document_id)
        for document in await self._store.published_documents():
            if not document.damaged and await self._storage.stored_size(
                    document.object_key) is None:
                await record_damage(self._store, document, "The stored file is missing.",
                                    FoundBy.SWEEP)
                report.missing_bodies.append(document.document_id)
        keys = await self._storage.keys_older_than(before)
        known = await self._store.known_keys(sorted({_original_key(key) for key in keys}))
        for key in keys:
            if _original_key(key) not in known:
                await self._storage.remove(key)
                report.stray_objects.append(key)
        for kind, found in (("abandoned_upload", report.abandoned_uploads),
                            ("missing_body", report.missing_bodies),
                            ("stray_object", report.stray_objects)):
            orphans_total.labels(kind).inc(len(found))
        sweep_completed.set_to_current_time()
        if report.abandoned_uploads or report.missing_bodies or report.stray_objects:
            log.warning("orphan sweep repaired", abandoned_uploads=report.abandoned_uploads,
                        missing_bodies=report.missing_bodies, stray_objects=report.stray_objects)
        return report
