"""Page cursors: opaque, signed for one dossier, list, sort and order; the last page aligns with
the walk; a cursor the service did not make for that very list is refused."""

import base64
import json

import pytest
from pydantic import SecretStr

from libs.servicekit.cursor_signing import (
    CursorRefused,
    CursorSigner,
    cursor_key,
)
from libs.servicekit.errors import Invalid
from services.dossier.config import DossierSettings
from services.dossier.cursors import PageCursor, PageCursors, page_count, window

KEY = b"k" * 32
CURSORS = PageCursors(CursorSigner(KEY))
DOSSIER = "DOS-B"


def cursor(**fields: object) -> PageCursor:
    values: dict[str, object] = {"kind": "claim", "sort": "status", "descending": False,
                                 "toward": "after", "key": "kDOS-B\x1dopen\x1fS00042", "page": 2}
    return PageCursor.model_validate({**values, **fields})


def read(text: str, *, dossier_id: str = DOSSIER, kind: str = "claim", sort: str = "status",
         descending: bool = False, cursors: PageCursors = CURSORS) -> PageCursor:
    return cursors.decode(text, dossier_id=dossier_id, kind=kind,  # type: ignore[arg-type]
                          sort=sort, descending=descending)


def test_a_cursor_reads_back_as_it_was_written_and_fits_in_a_url() -> None:
    written = cursor()
    text = CURSORS.encode(written, DOSSIER)
    assert text.replace("-", "").replace("_", "").replace(".", "").isalnum()
    assert read(text) == written


@pytest.mark.parametrize(("dossier_id", "kind", "sort", "descending"), [
    ("DOS-A", "claim", "status", False), ("DOS-B1", "claim", "status", False),
    ("DOS-", "claim", "status", False), ("DOS-B", "invoice", "status", False),
    ("DOS-B", "claim", "occurred_on", False), ("DOS-B", "claim", "status", True)])
def test_a_cursor_of_another_dossier_list_sort_or_order_is_refused(
    dossier_id: str, kind: str, sort: str, descending: bool,
) -> None:
    with pytest.raises(CursorRefused) as refused:
        read(CURSORS.encode(cursor(), DOSSIER), dossier_id=dossier_id, kind=kind, sort=sort,
             descending=descending)
    assert refused.value.fields == {"cursor": "not a cursor of this list"}


def forged(**fields: object) -> str:
    """A cursor as the former, unsigned version wrote it: base64 of the JSON, nothing more."""
    data = json.dumps(cursor(**fields).model_dump()).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def resigned(text: str, **fields: object) -> str:
    """`text` with its JSON changed and the tag kept: what an attacker can write."""
    body, _, tag = text.partition(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    edited = base64.urlsafe_b64encode(json.dumps({**data, **fields}).encode()).decode()
    return f"{edited.rstrip('=')}.{tag}"


@pytest.mark.parametrize("text", [
    "", "abc", "!!!", ".", "..", "e30.", "e30.e30", forged(), forged(key="k"),
    forged(key="k\uffff", toward="before"),
    CURSORS.encode(cursor(), DOSSIER)[:-3], CURSORS.encode(cursor(), DOSSIER) + "x",
    CURSORS.encode(cursor(), DOSSIER).replace(".", ""),
    resigned(CURSORS.encode(cursor(), DOSSIER), key="k"),
    resigned(CURSORS.encode(cursor(), DOSSIER), key="k\uffff", toward="before"),
    PageCursors(CursorSigner(b"another key of thirty-two bytes!")).encode(cursor(), DOSSIER),
    CURSORS.encode(cursor(toward="last", key="kDOS-B\x1dopen\x1fS1"), DOSSIER),
    CURSORS.encode(cursor(key=None), DOSSIER),
    "\ud800.\udfff", "é" * 100,
])
def test_a_damaged_forged_or_foreign_cursor_is_refused(text: str) -> None:
    with pytest.raises(CursorRefused):
        read(text)


def test_a_refusal_is_an_invalid_request_for_the_caller() -> None:
    assert issubclass(CursorRefused, Invalid)  # mapped to 422 problem+json by the gateway


def test_the_tag_covers_the_parts_of_the_context_one_by_one() -> None:
    signer = CursorSigner(KEY)
    text = signer.sign(b"{}", "ab", "c")
    assert signer.verify(text, "ab", "c") == b"{}"
    with pytest.raises(CursorRefused):
        signer.verify(text, "a", "bc")


def test_a_short_or_missing_key_is_refused_in_production() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        CursorSigner(b"short")
    with pytest.raises(ValueError, match="production"):
        cursor_key(SecretStr(""), "prod")
    with pytest.raises(ValueError, match="at least 32"):
        DossierSettings(cursor_secret="too short")
    with pytest.raises(ValueError, match="cursor_secret"):
        DossierSettings(environment="prod")
    assert cursor_key(SecretStr("s" * 32), "prod") == b"s" * 32


def test_without_a_secret_dev_signs_with_a_random_key_of_its_own() -> None:
    first, second = cursor_key(SecretStr(""), "dev"), cursor_key(SecretStr(""), "test")
    assert len(first) == 32 and first != second


def test_the_last_page_holds_what_is_left_after_the_full_pages() -> None:
    last = cursor(toward="last", key=None, page=1)
    assert window(last, page_size=20, total=45).model_dump() == {
        "key": None, "backward": True, "limit": 5, "page": 3}
    assert window(last, page_size=20, total=40).limit == 20
    assert window(last, page_size=20, total=0).model_dump() == {
        "key": None, "backward": True, "limit": 20, "page": 1}


def test_previous_reads_backward_from_the_boundary() -> None:
    assert window(cursor(toward="before", page=4), page_size=20, total=500).model_dump() == {
        "key": "kDOS-B\x1dopen\x1fS00042", "backward": True, "limit": 20, "page": 4}
    assert window(None, page_size=20, total=500).model_dump() == {
        "key": None, "backward": False, "limit": 20, "page": 1}


def test_a_list_has_at_least_one_page() -> None:
    assert [page_count(total, 20) for total in (0, 1, 20, 21)] == [1, 1, 1, 2]
