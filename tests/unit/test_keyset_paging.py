"""The one paging helper: a cursor reads back only in the list and scope it was made for; a
list key sorts as its value, then its id, and stays inside its range."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
import structlog

from libs.contracts.caller import Caller, Role
from libs.servicekit.cursor_signing import CursorRefused, CursorSigner
from libs.servicekit.keyset import Keyset, ListCursors, key_range, list_key

SIGNER = CursorSigner(b"k" * 32)
CURSORS = ListCursors(SIGNER, "documents")
KEYSET = Keyset(CURSORS, field="list_key", descending=True)
CALLER = Caller(user_id="u-mallory", role=Role.CLIENT, dossier_ids=["D1"])
KEY = list_key(datetime(2026, 3, 1, 10, tzinfo=UTC), "doc-7", within="D1")


def test_a_boundary_reads_back_and_fits_in_a_url() -> None:
    cursor = CURSORS.sign(KEY.encode(), "D1", "", "")
    assert KEYSET.boundary(cursor, "D1", "", "") == KEY
    assert cursor.replace("-", "").replace("_", "").replace(".", "").isalnum()


@pytest.mark.parametrize("scope", [("D2", "", ""), ("D1", "contract:c1", ""),
                                   ("D1", "", "image/"), ("D1", "")])
def test_a_cursor_of_another_dossier_or_filter_is_refused(scope: tuple[str, ...]) -> None:
    cursor = CURSORS.sign(KEY.encode(), "D1", "", "")
    with pytest.raises(CursorRefused) as refused:
        KEYSET.boundary(cursor, *scope)
    assert refused.value.fields == {"cursor": "not a cursor of this list"}


def test_a_cursor_of_another_list_or_key_is_refused() -> None:
    for cursors in (ListCursors(SIGNER, "signature_requests"),
                    ListCursors(CursorSigner(b"o" * 32), "documents")):
        with pytest.raises(CursorRefused):
            KEYSET.boundary(cursors.sign(KEY.encode(), "D1", "", ""), "D1", "", "")


def test_an_edited_or_malformed_cursor_is_refused_and_logged_with_its_caller() -> None:
    body, _, tag = CURSORS.sign(KEY.encode(), "D1", "", "").partition(".")
    edited = base64.urlsafe_b64encode(b"k").decode().rstrip("=")
    for text in (f"{edited}.{tag}", "garbage", "", ".", body,
                 CURSORS.sign(b"\xff\xfe", "D1", "", ""), CURSORS.sign(b"", "D1", "", ""),
                 CURSORS.sign(b"2026-03-01", "D1", "", "")):
        with structlog.testing.capture_logs() as logged, pytest.raises(CursorRefused):
            KEYSET.boundary(text, "D1", "", "", caller=CALLER, dossier_id="D1")
        [warning] = logged
        assert (warning["alert"], warning["user_id"], warning["list"], warning["dossier_id"]) \
            == ("cursor_tampering", "u-mallory", "documents", "D1")
        assert text == "" or text not in str(warning)


def test_list_keys_sort_as_their_moments_then_ids_and_stay_in_their_range() -> None:
    moment = datetime(2026, 3, 1, 10, tzinfo=UTC)
    keys = [list_key(moment, "b", within="D1"), list_key(moment, "a", within="D1"),
            list_key(moment + timedelta(milliseconds=1), "a", within="D1"),
            list_key(moment.replace(tzinfo=None) - timedelta(days=400), "z", within="D1")]
    assert sorted(keys) == [keys[3], keys[1], keys[0], keys[2]]
    assert all(key.startswith("k") for key in keys)
    own = key_range("D1")
    assert all(own["$gt"] < key < own["$lt"] for key in keys)
    assert not own["$gt"] < list_key(moment, "a", within="D10") < own["$lt"]


def test_the_next_page_only_narrows_the_callers_range() -> None:
    within = {"dossier_id": "D1", "list_key": key_range("D1")}
    assert KEYSET.past(within, KEY) == {"dossier_id": "D1", "list_key": {
        "$gt": key_range("D1")["$gt"], "$lt": KEY}}
    assert KEYSET.past(within, "l")["list_key"]["$lt"] == key_range("D1")["$lt"]
    ascending = Keyset(CURSORS, field="list_key", descending=False)
    assert ascending.past({}, KEY) == {"list_key": {"$gt": KEY}}


def test_a_text_cursor_names_its_parameter_when_refused() -> None:
    after = ListCursors(SIGNER, "accounts", parameter="after")
    assert after.open_text(after.sign(b"ann@example.com", "client"), "client") == (
        "ann@example.com")
    with pytest.raises(CursorRefused) as refused:
        after.open_text(after.sign(b"\xff\xfe", "client"), "client")
    assert refused.value.fields == {"after": "not a cursor of this list"}
