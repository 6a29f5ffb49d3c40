"""The client sheet ("klantenfiche", manual 4.5): the client's API and the office's."""

from typing import Annotated

from fastapi import Header, Query, Response, status
from pydantic import BaseModel, Field

from gateway.api_links import DOSSIER, answer_links, link, request_thread
from gateway.deps import CurrentCaller, DossierIdPath, GrantedDossier, Rpc, StaffCaller
from gateway.problems import api_router
from libs.contracts import client_sheet
from libs.servicekit.logs import correlation_id

router = api_router(prefix="/api/v1/dossiers/{dossier_id}", tags=["client sheet"])
admin_router = api_router(prefix="/admin/api/v1", tags=["admin"])
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200,
    description="The same key again returns the sheet already confirmed, never a second one")]


class SheetAnswers(BaseModel):
    questionnaire_version: int = Field(ge=1, description="The version the answers are to")
    answers: dict[str, client_sheet.AnswerValue] = Field(max_length=client_sheet.MAX_QUESTIONS)


@router.get("/client-sheet")
async def get_client_sheet(dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc
                           ) -> client_sheet.ClientSheetForm:
    """The client sheet to review: questionnaire, answers to start from, whether it is due."""
    return await rpc.call(client_sheet.GET_CLIENT_SHEET, client_sheet.ClientSheetQuery(
        caller=claims.caller(), dossier_id=dossier_id))


SHEET_LINKS = {"ReadClientSheet": link("GET /api/v1/dossiers/{dossier_id}/client-sheet",
                                       "The sheet to review next time", dossier_id=DOSSIER),
               **request_thread("/request_id")}


@router.post("/client-sheet", status_code=status.HTTP_201_CREATED, responses={
    200: {"model": client_sheet.ClientSheet, "links": SHEET_LINKS,
          "description": "Confirmed before with this Idempotency-Key: that sheet"},
    **answer_links(201, **SHEET_LINKS)})
async def confirm_client_sheet(
    dossier_id: GrantedDossier, body: SheetAnswers, claims: CurrentCaller, rpc: Rpc,
    response: Response, idempotency_key: IdempotencyKey = None,
) -> client_sheet.ClientSheet:
    """Confirm ("Bevestigen") the client sheet: stored as sent, and a pending request for the
    office. A repeated Idempotency-Key answers 200 with the sheet of the first."""
    confirmed = await rpc.call(client_sheet.CONFIRM_CLIENT_SHEET,
                               client_sheet.ConfirmClientSheetRequest(
        caller=claims.caller(), dossier_id=dossier_id,
        questionnaire_version=body.questionnaire_version, answers=body.answers,
        idempotency_key=idempotency_key, sender_name=claims.name,
        correlation_id=correlation_id.get()))
    if not confirmed.created:
        response.status_code = status.HTTP_200_OK
    return confirmed.sheet


@admin_router.get("/client-sheet/questionnaire")
async def get_questionnaire(staff: StaffCaller, rpc: Rpc) -> client_sheet.Questionnaire:
    """The client sheet's current questionnaire."""
    return await rpc.call(client_sheet.GET_QUESTIONNAIRE,
                          client_sheet.QuestionnaireQuery(caller=staff.caller()))


@admin_router.post("/client-sheet/questionnaire", status_code=status.HTTP_201_CREATED)
async def publish_questionnaire(body: client_sheet.QuestionnaireDraft, staff: StaffCaller,
                                rpc: Rpc) -> client_sheet.Questionnaire:
    """Publish a new version of the questionnaire; sheets confirmed from now on answer it."""
    return await rpc.call(client_sheet.PUBLISH_QUESTIONNAIRE,
                          client_sheet.PublishQuestionnaireRequest(
        caller=staff.caller(), draft=body, publisher_name=staff.name))


@admin_router.get("/client-sheets")
async def client_sheet_overview(
    staff: StaffCaller, rpc: Rpc,
    state: Annotated[str, Query(pattern="^(all|due|confirmed)$")] = "all",
) -> client_sheet.SheetOverview:
    """The dossiers with their client sheet's state, due ones first."""
    return await rpc.call(client_sheet.SHEET_OVERVIEW, client_sheet.SheetOverviewQuery(
        caller=staff.caller(), state=state))


@admin_router.get("/dossiers/{dossier_id}/client-sheets")
async def dossier_client_sheets(dossier_id: DossierIdPath, staff: StaffCaller, rpc: Rpc
                                ) -> client_sheet.DossierSheets:
    """A dossier's confirmed client sheets, newest first, and whether one is due."""
    return await rpc.call(client_sheet.LIST_DOSSIER_SHEETS, client_sheet.DossierSheetsQuery(
        caller=staff.caller(), dossier_id=dossier_id))
