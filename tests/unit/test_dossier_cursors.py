"""Page cursors: opaque, tied to one list, sort and order; the last page aligns with the walk."""

import pytest

from libs.servicekit.errors import Invalid
from services.dossier.cursors import PageCursor, decode, encode, page_count, window


def cursor(**fields: object) -> PageCursor:
    values: dict[str, object] = {"kind": "claim", "sort": "status", "descending": False,
                                 "toward": "after", "key": "kopen\x1fS00042", "page": 2}
    return PageCursor.model_validate({**values, **fields})


def test_a_cursor_reads_back_as_it_was_written_and_fits_in_a_url() -> None:
    written = cursor()
    text = encode(written)
    assert text.replace("-", "").replace("_", "").isalnum()
    assert decode(text, kind="claim", sort="status", descending=False) == written


@pytest.mark.parametrize(("kind", "sort", "descending"), [
    ("invoice", "status", False), ("claim", "occurred_on", False), ("claim", "status", True)])
def test_a_cursor_of_another_list_sort_or_order_is_refused(
    kind: str, sort: str, descending: bool,
) -> None:
    with pytest.raises(Invalid) as refused:
        decode(encode(cursor()), kind=kind, sort=sort, descending=descending)  # type: ignore[arg-type]
    assert refused.value.fields == {
        "cursor": "made for another list, sort or order than the one asked"}


@pytest.mark.parametrize("text", [
    "", "abc", "!!!", encode(cursor())[:-3], encode(cursor()) + "x",
    encode(cursor(toward="last", key="kopen\x1fS1")), encode(cursor(key=None)),
])
def test_a_damaged_cursor_is_refused(text: str) -> None:
    with pytest.raises(Invalid):
        decode(text, kind="claim", sort="status", descending=False)


def test_the_last_page_holds_what_is_left_after_the_full_pages() -> None:
    last = cursor(toward="last", key=None, page=1)
    assert window(last, page_size=20, total=45).model_dump() == {
        "key": None, "backward": True, "limit": 5, "page": 3}
    assert window(last, page_size=20, total=40).limit == 20
    assert window(last, page_size=20, total=0).model_dump() == {
        "key": None, "backward": True, "limit": 20, "page": 1}


def test_previous_reads_backward_from_the_boundary() -> None:
    assert window(cursor(toward="before", page=4), page_size=20, total=500).model_dump() == {
        "key": "kopen\x1fS00042", "backward": True, "limit": 20, "page": 4}
    assert window(None, page_size=20, total=500).model_dump() == {
        "key": None, "backward": False, "limit": 20, "page": 1}


def test_a_list_has_at_least_one_page() -> None:
    assert [page_count(total, 20) for total in (0, 1, 20, 21)] == [1, 1, 1, 2]
