"""A confirmed client sheet becomes a request of kind client_sheet in "Mijn aanvragen"."""

from libs.contracts.client_sheet import ClientSheet, ClientSheetConfirmed
from libs.contracts.requests import RequestAbout, RequestKind
from services.requests.domain import Actor, ServiceLevels, open_request
from services.requests.store import RequestStore

FILING_KEY = "client_sheet:"  # + the sheet id: the request's idempotency key


def sheet_form(sheet: ClientSheet) -> dict[str, object]:
    """The request's `form`: which sheet, on which questionnaire version, and its answers."""
    return {"sheet_id": sheet.sheet_id, "questionnaire_version": sheet.questionnaire_version,
            "answers": sheet.answers}


class SheetRequestFiling:
    """Files sheets through the requests store as pending requests, with their target and the
    office's RequestSubmitted. The request's id is the sheet's `request_id` and its idempotency
    key the sheet's: filing one twice (a retry after a crash) stores it once."""

    def __init__(self, requests: RequestStore, levels: ServiceLevels) -> None:
        self._requests = requests
        self._levels = levels

    async def file_sheet(self, sheet: ClientSheet, correlation: str | None) -> None:
        """Store the sheet's pending request with its RequestSubmitted event, and the
        ClientSheetConfirmed the signing service offers the sheet for signature from."""
        change = open_request(
            request_id=sheet.request_id, dossier_id=sheet.dossier_id,
            kind=RequestKind.CLIENT_SHEET, subject="", body="", about=RequestAbout(),
            form=sheet_form(sheet), attachments=[],
            sender=Actor(sheet.confirmed_by, sheet.confirmed_by_name), now=sheet.confirmed_at,
            levels=self._levels, correlation_id=correlation)
        confirmed = ClientSheetConfirmed(dossier_id=sheet.dossier_id, correlation_id=correlation,
                                         sheet=sheet)
        await self._requests.insert(change.request, [*change.events, confirmed],
                                    idempotency_key=FILING_KEY + sheet.sheet_id)
