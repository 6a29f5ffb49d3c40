"""A confirmed client sheet becomes a request of kind client_sheet in "Mijn aanvragen"."""

import contextlib

from pymongo.errors import DuplicateKeyError

from libs.contracts.client_sheet import ClientSheet
from libs.contracts.requests import (
    EntryAuthor,
    RequestKind,
    RequestPublic,
    RequestStatus,
    RequestSubmitted,
    ThreadEntry,
    TimelineStep,
    TimelineStepKind,
)
from services.requests.store import RequestStore


def sheet_form(sheet: ClientSheet) -> dict[str, object]:
    """The request's `form`: which sheet, on which questionnaire version, and its answers."""
    return {"sheet_id": sheet.sheet_id, "questionnaire_version": sheet.questionnaire_version,
            "answers": sheet.answers}


class SheetRequestFiling:
    """Files sheets through the requests store: the request's id is the sheet's `request_id`,
    so filing one twice (a retry after a crash) stores it once."""

    def __init__(self, requests: RequestStore) -> None:
        self._requests = requests

    async def file_sheet(self, sheet: ClientSheet, correlation: str | None) -> None:
        """Store the sheet's pending request with its RequestSubmitted event."""
        request = RequestPublic(
            request_id=sheet.request_id, dossier_id=sheet.dossier_id,
            kind=RequestKind.CLIENT_SHEET, subject="", form=sheet_form(sheet),
            status=RequestStatus.PENDING,
            entries=[ThreadEntry(entry_id=sheet.sheet_id, author=EntryAuthor.CLIENT,
                                 author_id=sheet.confirmed_by,
                                 author_name=sheet.confirmed_by_name, at=sheet.confirmed_at)],
            timeline=[TimelineStep(step=TimelineStepKind.SENT, at=sheet.confirmed_at,
                                   by_name=sheet.confirmed_by_name)],
            unread_by_office=True, sent_by=sheet.confirmed_by,
            sent_by_name=sheet.confirmed_by_name, sent_at=sheet.confirmed_at,
            updated_at=sheet.confirmed_at)
        event = RequestSubmitted(
            dossier_id=sheet.dossier_id, occurred_at=sheet.confirmed_at,
            correlation_id=correlation, request_id=sheet.request_id,
            kind=RequestKind.CLIENT_SHEET, subject="", sent_by=sheet.confirmed_by,
            sent_by_name=sheet.confirmed_by_name)
        with contextlib.suppress(DuplicateKeyError):  # filed before the retry
            await self._requests.insert(request, event)
