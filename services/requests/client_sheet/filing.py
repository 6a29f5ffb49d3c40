"""A confirmed client sheet becomes a request of kind client_sheet in "Mijn aanvragen"."""

import contextlib

from pymongo.errors import DuplicateKeyError

from libs.contracts.client_sheet import ClientSheet
from libs.contracts.requests import RequestPublic, RequestSubmitted
from services.requests.domain import RequestStatus
from services.requests.store import RequestStore

CLIENT_SHEET_KIND = "client_sheet"


class SheetRequestFiling:
    """Files sheets through the requests store: the request's id is the sheet's `request_id`,
    so filing one twice (a retry after a crash) stores it once."""

    def __init__(self, requests: RequestStore) -> None:
        self._requests = requests

    async def file_sheet(self, sheet: ClientSheet, correlation: str | None) -> None:
        """Store the sheet's pending request with its RequestSubmitted event."""
        request = RequestPublic(
            request_id=sheet.request_id, dossier_id=sheet.dossier_id, kind=CLIENT_SHEET_KIND,
            subject="", body="", status=RequestStatus.PENDING, sent_by=sheet.confirmed_by,
            sent_by_name=sheet.confirmed_by_name, sent_at=sheet.confirmed_at)
        event = RequestSubmitted(
            dossier_id=sheet.dossier_id, occurred_at=sheet.confirmed_at,
            correlation_id=correlation, request_id=sheet.request_id, kind=CLIENT_SHEET_KIND,
            subject="", sent_by=sheet.confirmed_by)
        with contextlib.suppress(DuplicateKeyError):  # filed before the retry
            await self._requests.insert(request, event)
