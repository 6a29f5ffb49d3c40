"""The paging contract of every list: keyset pages with an opaque, signed cursor.

A list answers one page and `next_cursor`, the cursor of the page after it (None on the last
one); the caller asks for that page by sending it back as `cursor` with the same filters. A
cursor is made for one list, one scope (its dossier, its filters) and one key of the service:
any other is refused (problem+json 422, field `cursor`). Page sizes and cursors are bounded, so
an attacker's huge value is a 422 too, never a 500. (`libs.servicekit.keyset` is the service
side.)
"""

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, Field

MAX_CURSOR = 1000  # a signed cursor: its boundary row, encoded, and the signature
ItemT = TypeVar("ItemT")

PageCursor = Annotated[str | None, Field(
    max_length=MAX_CURSOR,
    description="Opaque and signed: `next_cursor` of the previous page of the same list and "
    "filters (any other is refused: 422)")]
"""The `cursor` field of a list query (`cursor: PageCursor = None`)."""


class Continued(BaseModel):
    """What every page of a list has: the way to the next one."""

    next_cursor: str | None = Field(default=None, description="The cursor of the next page; "
                                    "None on the last")


class CursorPage(Continued, Generic[ItemT]):
    """One page of a list: its rows and the cursor of the next page."""

    items: list[ItemT]
