"""Keyset paging with signed cursors: the one way the services page a list.

A page is never found by skipping the rows before it (nx-27017 reads every skipped row, so a
deep page costs the whole list) but by its boundary: the last row of the previous page. The
list's order is a sort value plus the row's id (unique, so ties keep one order), kept as one
indexed key, and "the next page" is the rows past the boundary's key, up to the page size.

The boundary travels to the client and back as an opaque cursor, and it becomes a database
bound, so the cursor is signed (`libs.servicekit.cursor_signing`) for its list and its scope:
the dossier it lists, the filters, the caller's own choices. A cursor the service did not make
for this very list and scope - forged, edited, made for another dossier, list or filter, or
under an earlier key - is refused as CursorRefused (problem+json 422 in the API; a page shows
the first page with a notice), and logged as a `cursor_tampering` warning with who sent it
(never the cursor or the key). The store's own criteria still bound every read to the caller's
range: the signature is one layer, not the only one.

`ListCursors` signs and reads the cursors of a list (the dossier's lists, the office's lists,
the request desk use it with their own keys); `Keyset` adds one page read from a collection
along a unique list key (`list_key`: the sort value, then the row's id).
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

from pymongo import ASCENDING, DESCENDING

from libs.contracts.caller import Caller
from libs.servicekit.cursor_signing import REFUSED, CursorRefused, CursorSigner
from libs.servicekit.logs import get_logger

log = get_logger(__name__)
NOT_OURS = "not a cursor of this list"
KEY_PREFIX = "k"
KEY_END = "l"  # past every key
WITHIN_END = "\x1d"  # ends the range part of a key
Document = dict[str, Any]


class ListCursors:
    """The signed cursors of one list: each is bound to the list's name and a scope."""

    def __init__(self, signer: CursorSigner, list_name: str, *, parameter: str = "cursor",
                 shown_as: str | None = None) -> None:
        """`list_name` is signed into every cursor (so a cursor of one list is refused by
        another); `parameter` is the request field the cursor comes in (named in the 422);
        `shown_as` names the list in the tampering warning (the list's name by default)."""
        self._signer = signer
        self.list_name = list_name
        self.parameter = parameter
        self._shown_as = shown_as or list_name

    def sign(self, payload: bytes, *scope: str) -> str:
        """The opaque, URL-safe cursor of `payload` for this list and `scope`."""
        return self._signer.sign(payload, self.list_name, *scope)

    def open(self, text: str, *scope: str, caller: Caller | None = None,
             **logged: object) -> bytes:
        """The payload of a cursor made for this list and `scope`; else CursorRefused (a
        warning names the caller and the `logged` fields, never the cursor)."""
        try:
            return self._signer.verify(text, self.list_name, *scope)
        except CursorRefused:
            self.refuse(caller, **logged)

    def open_text(self, text: str, *scope: str, caller: Caller | None = None,
                  **logged: object) -> str:
        """`open` for a cursor whose payload is a text (a list's unique sort key)."""
        payload = self.open(text, *scope, caller=caller, **logged)
        try:
            return payload.decode()
        except UnicodeDecodeError:
            self.refuse(caller, **logged)

    def refuse(self, caller: Caller | None = None, **logged: object) -> NoReturn:
        """Log a refused cursor as a tampering attempt and raise CursorRefused (`logged` may
        name the list otherwise: `list=...`)."""
        who: dict[str, object] = {} if caller is None else {
            "user_id": caller.user_id, "role": caller.role.value}
        log.warning("page cursor refused: forged, edited or made for another list",
                    alert="cursor_tampering", **who, **{"list": self._shown_as, **logged})
        raise CursorRefused(REFUSED, fields={self.parameter: NOT_OURS})


class Keyset:
    """Keyset pages of a collection along one unique, indexed text field, the list key.

    The key is what the list sorts by, made unique by the row's id at its end (the sort
    value's text, zero-padded, then the id: `list_key`). It begins with a letter: nx-27017
    compares a query text that begins like a date as a date, so a range on "2026-05-18..." keys
    matched nothing; and one range on one field is what it serves from an index (an `$or` of
    ranges, or a `$set` date, it has answered wrongly). A cursor holds the boundary row's key;
    the next page is the one range past it, which only ever narrows the caller's own range.
    """

    def __init__(self, cursors: ListCursors, *, field: str, descending: bool) -> None:
        self.cursors = cursors
        self.field = field
        self.descending = descending

    def boundary(self, cursor: str, *scope: str, caller: Caller | None = None,
                 **logged: object) -> str:
        """The boundary row's key a cursor of this list and scope holds."""
        key = self.cursors.open_text(cursor, *scope, caller=caller, **logged)
        if not key.startswith(KEY_PREFIX):
            self.cursors.refuse(caller, **logged)
        return key

    def past(self, criteria: Mapping[str, Any], key: str) -> Document:
        """`criteria` narrowed to the rows after `key` in the list's order (a range the
        criteria already hold on the field is kept: the key only narrows it)."""
        query = dict(criteria)
        bounds = dict(query.get(self.field) or {})
        beyond = "$lt" if self.descending else "$gt"
        current = bounds.get(beyond)
        if current is None or (key < current if self.descending else key > current):
            bounds[beyond] = key
        query[self.field] = bounds
        return query

    async def page(
        self, collection: Any, criteria: Document, *, cursor: str | None, scope: Sequence[str],
        limit: int, keep: Callable[[Document], bool] = lambda _: True,
        caller: Caller | None = None, **logged: object,
    ) -> tuple[list[Document], str | None]:
        """One page of the rows matching `criteria` (the caller's whole range: the cursor
        only narrows it) after `cursor`, and the cursor of the next page (None on the last).
        `keep` is the last check of every row read (defence in depth)."""
        query = dict(criteria)
        # Rows with a key, and only those: one range of the field's index.
        query.setdefault(self.field, {"$gte": KEY_PREFIX, "$lt": KEY_END})
        if cursor is not None:
            query = self.past(query, self.boundary(cursor, *scope, caller=caller, **logged))
        found = collection.find(query).sort(
            self.field, DESCENDING if self.descending else ASCENDING).limit(limit + 1)
        rows = [document async for document in found]
        more = len(rows) > limit
        rows = rows[:limit]
        return ([row for row in rows if keep(row)],
                self.cursors.sign(rows[-1][self.field].encode(), *scope) if more and rows
                else None)


def list_key(sort_value: datetime | int | str, row_id: str, *, within: str = "") -> str:
    """The list key of a row: `k`, the range it is listed `within` (its dossier) and `\x1d`
    if any, its sort value as text that sorts as the value does (a moment: its UTC
    milliseconds, zero-padded), `\x1f`, its id (unique: ties keep one order)."""
    if isinstance(sort_value, datetime):
        moment = sort_value if sort_value.tzinfo else sort_value.replace(tzinfo=UTC)
        sort_value = round(moment.timestamp() * 1000)
    text = f"{sort_value:015d}" if isinstance(sort_value, int) else sort_value
    return f"{KEY_PREFIX}{within}{WITHIN_END if within else ''}{text}\x1f{row_id}"


def key_range(within: str) -> Document:
    """The range of the list keys of the rows listed `within` (one dossier), and only those
    (so `D1` does not reach into `D10`)."""
    return {"$gt": f"{KEY_PREFIX}{within}{WITHIN_END}", "$lt": f"{KEY_PREFIX}{within}\x1e"}
