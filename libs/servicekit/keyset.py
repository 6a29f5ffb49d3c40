"""Keyset paging with signed cursors: the one way the services page a list.

A page is never found by skipping the rows before it (nx-27017 reads every skipped row, so a
deep page costs the whole list) but by its boundary: the last row of the previous page. The
list's order is a sort field plus the row's `_id` (unique, so ties keep one order), and "the
next page" is the rows past that boundary in that order, up to the page size.

The boundary travels to the client and back as an opaque cursor, and it becomes a database
bound, so the cursor is signed (`libs.servicekit.cursor_signing`) for its list and its scope:
the dossier it lists, the filters, the caller's own choices. A cursor the service did not make
for this very list and scope - forged, edited, made for another dossier, list or filter, or
under an earlier key - is refused as CursorRefused (problem+json 422 in the API; a page shows
the first page with a notice), and logged as a `cursor_tampering` warning with who sent it
(never the cursor or the key). The store's own criteria still bound every read to the caller's
range: the signature is one layer, not the only one.

`ListCursors` signs and reads the boundary of a list whose sort key is one unique string (the
office's lists, the request desk); `Keyset` adds what a list over a sort field and `_id` needs:
the sort, the criteria past a boundary and one page read from a collection.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

from pymongo import ASCENDING, DESCENDING

from libs.contracts.caller import Caller
from libs.servicekit.cursor_signing import REFUSED, CursorRefused, CursorSigner
from libs.servicekit.logs import get_logger

log = get_logger(__name__)
NOT_OURS = "not a cursor of this list"
Document = dict[str, Any]


def _tagged(value: Any) -> list[Any]:
    """A sort value as JSON that reads back as the same type (a datetime stays one)."""
    if isinstance(value, datetime):
        return ["d", value.isoformat()]
    if value is None or isinstance(value, str | int | float | bool):
        return ["v", value]
    raise TypeError(f"not a sort value of a keyset list: {type(value).__name__}")


def _untagged(tagged: Any) -> Any:
    """The sort value of `_tagged`'s JSON (ValueError when it is not one)."""
    kind, value = tagged
    if kind == "d" and isinstance(value, str):
        return datetime.fromisoformat(value)
    if kind == "v" and (value is None or isinstance(value, str | int | float | bool)):
        return value
    raise ValueError("not a sort value")


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
    """Keyset pages of a collection in the order of one field, then `_id`, with signed
    cursors holding the boundary row's field value and id.

    The value is kept in the very form the server returned it (a datetime, or the ISO text
    nx-27017 returns for a datetime written by `$set`; a text, a number) and compared in that
    form: the server orders and compares values of one type.
    """

    def __init__(self, cursors: ListCursors, *, field: str, descending: bool) -> None:
        self.cursors = cursors
        self.field = field
        self.descending = descending

    @property
    def sort(self) -> list[tuple[str, int]]:
        """The list's order: the field, then `_id`, the same way."""
        way = DESCENDING if self.descending else ASCENDING
        return [(self.field, way), ("_id", way)]

    def cursor_after(self, document: Mapping[str, Any], *scope: str) -> str:
        """The cursor of the page that follows `document` (a stored row of the list)."""
        boundary = [_tagged(document.get(self.field)), str(document["_id"])]
        return self.cursors.sign(json.dumps(boundary, separators=(",", ":")).encode(), *scope)

    def boundary(self, cursor: str, *scope: str, caller: Caller | None = None,
                 **logged: object) -> tuple[Any, str]:
        """The boundary row (field value, id) a cursor of this list and scope holds."""
        payload = self.cursors.open(cursor, *scope, caller=caller, **logged)
        try:
            value, row_id = json.loads(payload)
            if not isinstance(row_id, str):
                raise ValueError("the id is a text")
            return _untagged(value), row_id
        except (ValueError, TypeError, KeyError):
            self.cursors.refuse(caller, **logged)

    def past(self, boundary: tuple[Any, str]) -> Document:
        """The criteria of the rows after `boundary` in the list's order."""
        value, row_id = boundary
        beyond = "$lt" if self.descending else "$gt"
        return {"$or": [{self.field: {beyond: value}},
                        {self.field: value, "_id": {beyond: row_id}}]}

    async def page(
        self, collection: Any, criteria: Document, *, cursor: str | None, scope: Sequence[str],
        limit: int, keep: Callable[[Document], bool] = lambda _: True,
        caller: Caller | None = None, **logged: object,
    ) -> tuple[list[Document], str | None]:
        """One page of the rows matching `criteria` (the caller's whole range: the cursor
        only narrows it) after `cursor`, and the cursor of the next page (None on the last).
        `keep` is the last check of every row read (defence in depth)."""
        query = dict(criteria)
        if cursor is not None:
            query = {"$and": [query, self.past(self.boundary(
                cursor, *scope, caller=caller, **logged))]}
        found = collection.find(query).sort(self.sort).limit(limit + 1)
        rows = [document async for document in found]
        more = len(rows) > limit
        rows = rows[:limit]
        return ([row for row in rows if keep(row)],
                self.cursor_after(rows[-1], *scope) if more and rows else None)
