"""Rules of serving stored bodies: which body a variant is, when a range of it may be served."""

from datetime import UTC, datetime, timedelta

import pytest

from gateway.downloads import entity_tag, if_range_allows, single_range
from libs.contracts.documents import BodyVariant, RenditionState
from services.documents.domain import (
    DocumentState,
    StoredBody,
    StoredDocument,
    verified_recently,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def document(**changes: object) -> StoredDocument:
    fields: dict[str, object] = {
        "document_id": "doc1", "dossier_id": "D1", "title": "Polis", "filename": "polis.docx",
        "content_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "declared_size": 10, "object_key": "D1/doc1", "state": DocumentState.PUBLISHED,
        "uploaded_by": "staff1", "created_at": NOW, "size": 10, "sha256": "a" * 64,
        "uploaded_at": NOW}
    fields.update(changes)
    return StoredDocument.model_validate(fields)


def test_a_body_verified_within_the_lifetime_may_be_served_in_ranges() -> None:
    assert verified_recently(NOW - DAY + timedelta(seconds=1), NOW, DAY)
    assert verified_recently(NOW - DAY, NOW, DAY)


def test_a_body_never_verified_or_verified_too_long_ago_needs_a_check_first() -> None:
    assert not verified_recently(None, NOW, DAY)
    assert not verified_recently(NOW - DAY - timedelta(seconds=1), NOW, DAY)


def test_the_view_of_an_office_file_is_its_pdf_rendition_with_its_own_verification() -> None:
    ready = document(rendition_state=RenditionState.READY, rendition_key="D1/doc1.view.pdf",
                     rendition_size=5, rendition_sha256="b" * 64, rendition_verified_at=NOW)
    view = ready.body(BodyVariant.VIEW)
    assert view is not None
    assert (view.stored, view.key, view.filename, view.sha256, view.verified_at) == (
        StoredBody.RENDITION, "D1/doc1.view.pdf", "polis.pdf", "b" * 64, NOW)
    assert view.rangeable
    original = ready.body(BodyVariant.ORIGINAL)
    assert original is not None and not original.rangeable and original.verified_at is None


def test_a_pdf_is_its_own_view_and_has_no_view_while_its_rendition_is_pending() -> None:
    pdf = document(filename="polis.pdf", content_type="application/pdf",
                   rendition_state=RenditionState.READY)
    view = pdf.body(BodyVariant.VIEW)
    assert view is not None and view.stored == StoredBody.ORIGINAL and view.rangeable
    assert document(rendition_state=RenditionState.PENDING).body(BodyVariant.VIEW) is None
    assert document().body(BodyVariant.THUMBNAIL) is None


def test_the_scrubber_checks_every_stored_body_of_a_document() -> None:
    image = document(filename="schade.png", content_type="image/png",
                     rendition_state=RenditionState.READY, thumbnail_key="D1/doc1.thumb.jpg",
                     thumbnail_size=3, thumbnail_sha256="c" * 64)
    assert [body.stored for body in image.stored_bodies()] == [StoredBody.ORIGINAL,
                                                               StoredBody.THUMBNAIL]
    assert document(state=DocumentState.UPLOADING, size=None, sha256=None).stored_bodies() == []


@pytest.mark.parametrize("header", ["bytes=0-99", "bytes=100-", "bytes=-500", "bytes= 0-99"])
def test_one_byte_range_may_be_served_as_a_range(header: str) -> None:
    assert single_range(header)


@pytest.mark.parametrize("header", [None, "bytes=0-9,20-29", "bytes=-", "items=0-9",
                                    "bytes=a-b", "bytes=0-9\r\nX: y"])
def test_several_ranges_or_anything_else_is_served_whole(header: str | None) -> None:
    assert not single_range(header)


def test_if_range_allows_a_range_only_of_the_very_body_it_names() -> None:
    sha256 = "d" * 64
    assert if_range_allows(None, sha256)
    assert if_range_allows(entity_tag(sha256), sha256)
    assert not if_range_allows(entity_tag("e" * 64), sha256)
    assert not if_range_allows(f"W/{entity_tag(sha256)}", sha256)  # a weak tag never matches
    assert not if_range_allows("Wed, 21 Oct 2015 07:28:00 GMT", sha256)
