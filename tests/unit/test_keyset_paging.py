"""The one paging helper: a cursor reads back only in the list and scope it was made for, and
it holds the boundary row's sort value in the very form the server gave it."""

import base64
import json
from datetime import UTC, datetime

import pytest
import structlog

from libs.contracts.caller import Caller, Role
from libs.servicekit.cursor_signing import CursorRefused, CursorSigner
from libs.servicekit.keyset import Keyset, ListCursors

SIGNER = CursorSigner(b"k" * 32)
CURSORS = ListCursors(SIGNER, "documents")
KEYSET = Keyset(CURSORS, field="uploaded_at", descending=True)
CALLER = Caller(user_id="u-mallory", role=Role.CLIENT, dossier_ids=["D1"])


@pytest.mark.parametrize("value", [
    datetime(2026, 3, 1, 10, 0, 0, 123000, tzinfo=UTC), datetime(2026, 3, 1, 10, 0),
    "2026-03-01T10:00:00Z", 42, None])
def test_a_boundary_reads_back_in_the_form_it_was_stored(value: object) -> None:
    cursor = KEYSET.cursor_after({"uploaded_at": value, "_id": "doc-7"}, "D1", "", "")
    assert KEYSET.boundary(cursor, "D1", "", "") == (value, "doc-7")
    assert cursor.replace("-", "").replace("_", "").replace(".", "").isalnum()


@pytest.mark.parametrize("scope", [("D2", "", ""), ("D1", "contract:c1", ""),
                                   ("D1", "", "image/"), ("D1", "")])
def test_a_cursor_of_another_dossier_or_filter_is_refused(scope: tuple[str, ...]) -> None:
    cursor = KEYSET.cursor_after({"uploaded_at": "2026", "_id": "doc-7"}, "D1", "", "")
    with pytest.raises(CursorRefused) as refused:
        KEYSET.boundary(cursor, *scope)
    assert refused.value.fields == {"cursor": "not a cursor of this list"}


def test_a_cursor_of_another_list_or_key_is_refused() -> None:
    other_list = Keyset(ListCursors(SIGNER, "signature_requests"), field="uploaded_at",
                        descending=True)
    other_key = Keyset(ListCursors(CursorSigner(b"o" * 32), "documents"), field="uploaded_at",
                       descending=True)
    for keyset in (other_list, other_key):
        cursor = keyset.cursor_after({"uploaded_at": "2026", "_id": "doc-7"}, "D1", "", "")
        with pytest.raises(CursorRefused):
            KEYSET.boundary(cursor, "D1", "", "")


def test_an_edited_or_malformed_cursor_is_refused_and_logged_with_its_caller() -> None:
    cursor = KEYSET.cursor_after({"uploaded_at": "2026", "_id": "doc-7"}, "D1", "", "")
    body, _, tag = cursor.partition(".")
    edited = base64.urlsafe_b64encode(json.dumps([["v", "2026"], "doc-9"]).encode()).decode()
    signed_junk = CURSORS.sign(b"[1, 2, 3]", "D1", "", "")
    for text in (f"{edited.rstrip('=')}.{tag}", "garbage", "", ".", body, signed_junk):
        with structlog.testing.capture_logs() as logged, pytest.raises(CursorRefused):
            KEYSET.boundary(text, "D1", "", "", caller=CALLER, dossier_id="D1")
        [warning] = logged
        assert (warning["alert"], warning["user_id"], warning["list"], warning["dossier_id"]) \
            == ("cursor_tampering", "u-mallory", "documents", "D1")
        assert text == "" or text not in str(warning)


def test_the_next_page_is_the_rows_past_the_boundary_in_the_lists_order() -> None:
    assert KEYSET.sort == [("uploaded_at", -1), ("_id", -1)]
    assert KEYSET.past(("2026", "doc-7")) == {"$or": [
        {"uploaded_at": {"$lt": "2026"}}, {"uploaded_at": "2026", "_id": {"$lt": "doc-7"}}]}
    ascending = Keyset(CURSORS, field="email", descending=False)
    assert ascending.past(("a@x", "u1"))["$or"][0] == {"email": {"$gt": "a@x"}}


def test_a_text_cursor_names_its_parameter_when_refused() -> None:
    after = ListCursors(SIGNER, "accounts", parameter="after")
    assert after.open_text(after.sign(b"ann@example.com", "client"), "client") == (
        "ann@example.com")
    with pytest.raises(CursorRefused) as refused:
        after.open_text(after.sign(b"\xff\xfe", "client"), "client")
    assert refused.value.fields == {"after": "not a cursor of this list"}
