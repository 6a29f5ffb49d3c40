"""Page cursors of the dossier's lists (keyset paging; pure: no I/O).

A page is not found by skipping the rows before it - nx-27017 reads every skipped row, so the
last page of 10,000 claims took a second - but by its boundary: the stored sort key of the row
next to it. Every sort key (`s_<field>` in the store) is the sort value followed by the object's
id, so it is unique and ties in the sort value keep one order; "the next page" is then one
indexed range, `s_<field> > key`, read in sort order up to the page size.

A cursor is that boundary with its direction, the list, sort and order it belongs to and the
number of the page it leads to: a small JSON object, signed (`libs.servicekit.cursor_signing`)
for the dossier, list, sort and order it was made for. Its key becomes a bound of a database
range, so a cursor the service did not make for this very list is refused as CursorRefused
(problem+json 422 in the API) - and the store clamps every range to the dossier's own keys
whatever a cursor says.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from libs.contracts.caller import Caller
from libs.contracts.dossier import MAX_PAGE_NUMBER, ObjectKind
from libs.servicekit.cursor_signing import CursorSigner
from libs.servicekit.keyset import ListCursors

CONTEXT = "dossier-list"

Toward = Literal["after", "before", "last"]
"""`after`: the rows following `key`; `before`: those preceding it; `last`: the list's end."""


class PageCursor(BaseModel):
    """Where a page starts (or ends), for one list in one sort order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    kind: ObjectKind
    sort: str = Field(max_length=40)
    descending: bool
    toward: Toward
    key: str | None = Field(default=None, max_length=2000,
                            description="The boundary row's sort key (None for `last`)")
    page: int = Field(ge=1, le=MAX_PAGE_NUMBER,
                      description="The number of the page this cursor leads to")


def _scope(dossier_id: str, kind: ObjectKind, sort: str, descending: bool) -> tuple[str, ...]:
    return dossier_id, kind, sort, "desc" if descending else "asc"


class PageCursors:
    """Writes the cursors of a dossier's lists and reads back only those it wrote."""

    def __init__(self, signer: CursorSigner) -> None:
        self._cursors = ListCursors(signer, CONTEXT)

    def encode(self, cursor: PageCursor, dossier_id: str) -> str:
        """The opaque text of a cursor of `dossier_id`'s list (fits in a URL as it is)."""
        data = cursor.model_dump_json(exclude_defaults=False).encode()
        return self._cursors.sign(
            data, *_scope(dossier_id, cursor.kind, cursor.sort, cursor.descending))

    def decode(self, text: str, *, dossier_id: str, kind: ObjectKind, sort: str,
               descending: bool, caller: Caller | None = None) -> PageCursor:
        """The cursor in `text`, checked to be one made for this dossier, list, sort and
        order (CursorRefused otherwise, logged as a tampering attempt by `caller`: who, which
        dossier and list; never the cursor)."""
        logged = {"dossier_id": dossier_id, "list": kind, "sort": sort,
                  "descending": descending}
        payload = self._cursors.open(text, *_scope(dossier_id, kind, sort, descending),
                                     caller=caller, **logged)
        try:
            cursor = PageCursor.model_validate_json(payload)
        except (ValueError, ValidationError):
            cursor = None
        if (cursor is None or (cursor.kind, cursor.sort, cursor.descending) != (
                kind, sort, descending) or (cursor.key is None) != (cursor.toward == "last")):
            self._cursors.refuse(caller, **logged)
        return cursor


class Window(BaseModel):
    """How to read one page: from which boundary, in which direction, how many rows."""

    key: str | None
    backward: bool = Field(description="Read against the list's order (then turn the rows)")
    limit: int
    page: int


def window(cursor: PageCursor | None, *, page_size: int, total: int) -> Window:
    """The read that finds the page `cursor` leads to (the first page without one).

    The last page holds what is left after the full pages before it, as it would when walked
    to from the first, so "previous" from there steps on the same page boundaries.
    """
    if cursor is None:
        return Window(key=None, backward=False, limit=page_size, page=1)
    if cursor.toward == "last":
        count = page_count(total, page_size)
        rest = total - (count - 1) * page_size
        return Window(key=None, backward=True, limit=rest if rest > 0 else page_size, page=count)
    return Window(key=cursor.key, backward=cursor.toward == "before", limit=page_size,
                  page=cursor.page)


def page_count(total: int, page_size: int) -> int:
    """How many pages a list of `total` rows has (at least one, maybe empty)."""
    return max(1, -(-total // page_size))
