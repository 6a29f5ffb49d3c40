"""Rules for documents: a plain file name, a context, a size limit and a dossier quota."""

from datetime import UTC, datetime, timedelta

import pytest

from libs.contracts.documents import (
    ContextKind,
    DocumentContext,
    DocumentPublic,
    RenditionPublic,
    RenditionState,
)
from services.documents.domain import (
    DocumentState,
    StoredDocument,
    announced_context,
    filename_problem,
    initial_rendition,
    normalized_content_type,
    object_key,
    overdue_announcements,
    stored_body_problem,
    upload_problems,
)
from services.documents.sniffing import ViewKind

MAX = 50 * 1024 * 1024


def problems(**changes: object) -> dict[str, str]:
    announced: dict[str, object] = {
        "dossier_id": "D-2024.001", "filename": "polis.pdf", "size": 1000, "max_bytes": MAX,
        "context": DocumentContext(), "quota_left": 10 * MAX,
    }
    announced.update(changes)
    return upload_problems(**announced)  # type: ignore[arg-type]


def test_a_pdf_of_allowed_size_may_be_uploaded() -> None:
    assert problems() == {}


def test_a_pdf_of_exactly_the_maximum_size_may_be_uploaded() -> None:
    assert problems(size=MAX) == {}


def test_a_file_over_the_maximum_size_is_refused_with_the_limit_in_megabytes() -> None:
    assert problems(size=MAX + 1) == {"size": "The file is larger than the 50 MB allowed."}


def test_a_file_that_fits_the_limit_but_not_the_dossiers_quota_is_refused() -> None:
    assert problems(size=1000, quota_left=999) == {
        "size": "The dossier's storage quota is used up."}
    assert problems(size=1000, quota_left=1000) == {}


def test_the_declared_content_type_is_kept_without_case_or_parameters() -> None:
    assert normalized_content_type(" Application/PDF; name=x") == "application/pdf"


@pytest.mark.parametrize(("context", "ok"), [
    (DocumentContext(), True),
    (DocumentContext(kind=ContextKind.CONTRACT, ref_id="c1"), True),
    (DocumentContext(kind=ContextKind.CLAIM), False),
    (DocumentContext(kind=ContextKind.GENERAL, ref_id="x"), False),
])
def test_a_context_names_its_object_except_the_general_data(
    context: DocumentContext, ok: bool
) -> None:
    assert ("context" not in problems(context=context)) is ok


@pytest.mark.parametrize(("view", "state"), [
    (ViewKind.PDF, RenditionState.READY), (ViewKind.OFFICE, RenditionState.PENDING),
    (ViewKind.TEXT, RenditionState.PENDING), (ViewKind.IMAGE, RenditionState.PENDING),
    (ViewKind.NONE, RenditionState.FAILED),
])
def test_a_pdf_is_its_own_view_and_an_unknown_type_has_none(
    view: ViewKind, state: RenditionState
) -> None:
    assert initial_rendition(view)[0] == state


@pytest.mark.parametrize(
    "filename",
    ["../etc/passwd", "dir/polis.pdf", "C:\\Users\\polis.pdf", "..", ".", "   ", "po\nlis.pdf",
     "polis\x00.pdf"],
)
def test_a_file_name_with_path_parts_or_control_characters_is_refused(filename: str) -> None:
    assert filename_problem(filename) is not None
    assert "filename" in problems(filename=filename)


@pytest.mark.parametrize("filename", ["polis.pdf", "Attest brand — 2024 (kopie).PDF", "été.pdf"])
def test_an_ordinary_file_name_is_kept(filename: str) -> None:
    assert filename_problem(filename) is None


@pytest.mark.parametrize("dossier_id", ["../D1", "D1/x", "", "D 1"])
def test_a_dossier_id_that_cannot_name_a_storage_folder_is_refused(dossier_id: str) -> None:
    assert "dossier_id" in problems(dossier_id=dossier_id)


def test_every_problem_is_reported_at_once() -> None:
    assert set(problems(filename="a/b", context=DocumentContext(kind=ContextKind.CLAIM),
                        size=MAX + 1)) == {"filename", "context", "size"}


def test_a_document_body_is_stored_under_its_dossier() -> None:
    assert object_key("D1", "abc") == "D1/abc"


def test_a_stored_body_of_the_reported_size_may_be_published() -> None:
    assert stored_body_problem(reported_size=10, stored_size=10, max_bytes=MAX) is None


def test_a_stored_body_of_another_size_than_reported_is_refused() -> None:
    problem = stored_body_problem(reported_size=11, stored_size=10, max_bytes=MAX)
    assert problem == "The stored file has 10 bytes, not the 11 bytes reported."


def test_a_stored_body_over_the_maximum_is_refused_even_when_reported_honestly() -> None:
    assert stored_body_problem(reported_size=MAX + 1, stored_size=MAX + 1, max_bytes=MAX
                               ) is not None


def _document(**changes: object) -> StoredDocument:
    fields: dict[str, object] = {
        "document_id": "doc1", "dossier_id": "D1", "title": "Polis", "filename": "polis.pdf",
        "content_type": "application/pdf", "declared_size": 10, "object_key": "D1/doc1",
        "state": DocumentState.UPLOADING, "uploaded_by": "staff1",
        "created_at": datetime(2024, 5, 1, tzinfo=UTC),
    }
    fields.update(changes)
    return StoredDocument.model_validate(fields)


def test_a_published_document_shows_its_verified_size_and_checksum() -> None:
    uploaded_at = datetime(2024, 5, 1, 10, tzinfo=UTC)
    document = _document(state=DocumentState.PUBLISHED, size=12, sha256="ab" * 32,
                         uploaded_at=uploaded_at, view=ViewKind.PDF,
                         rendition_state=RenditionState.READY)
    assert document.to_public() == DocumentPublic(
        document_id="doc1", dossier_id="D1", title="Polis", filename="polis.pdf",
        content_type="application/pdf", size=12, sha256="ab" * 32, uploaded_by="staff1",
        uploaded_at=uploaded_at, rendition=RenditionPublic(
            state=RenditionState.READY, content_type="application/pdf"))


def test_a_document_still_uploading_has_no_public_metadata() -> None:
    with pytest.raises(ValueError, match="not published"):
        _document().to_public()


# --- announcements of staff batches whose page never announced them --------------------------


def _staff_document(document_id: str, dossier_id: str, minutes_ago: int) -> StoredDocument:
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    return StoredDocument(
        document_id=document_id, dossier_id=dossier_id, title=document_id,
        filename="polis.pdf", content_type="application/pdf", declared_size=10,
        object_key=document_id, state=DocumentState.PUBLISHED, uploaded_by="staff-1",
        created_at=now - timedelta(minutes=minutes_ago + 1),
        uploaded_at=now - timedelta(minutes=minutes_ago))


def test_a_dossier_still_receiving_files_waits_for_its_batch() -> None:
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    documents = [_staff_document("old", "D1", 30), _staff_document("new", "D1", 2),
                 _staff_document("quiet", "D2", 11)]
    overdue = overdue_announcements(documents, now, timedelta(minutes=10))
    assert {dossier: [d.document_id for d in found] for dossier, found in overdue.items()} == {
        "D2": ["quiet"]}


def test_files_the_office_attached_to_an_answer_are_left_to_the_answer_s_mail() -> None:
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    answer_file = _staff_document("answer", "D1", 30).model_copy(update={
        "context": DocumentContext(kind=ContextKind.REQUEST, ref_id="R-1")})
    published = _staff_document("policy", "D2", 30)
    overdue = overdue_announcements([answer_file, published], now, timedelta(minutes=10))
    assert {dossier: [d.document_id for d in found] for dossier, found in overdue.items()} == {
        "D2": ["policy"]}


def test_files_of_several_contexts_are_announced_under_the_general_data() -> None:
    contract = _staff_document("a", "D1", 30).model_copy(update={"context": DocumentContext(
        kind=ContextKind.CONTRACT, ref_id="C-1")})
    general = _staff_document("b", "D1", 30)
    assert announced_context([contract]) == contract.context
    assert announced_context([contract, general]) == DocumentContext()
