"""Contracts of the client sheet ("klantenfiche", manual 4.5), served by the requests service.

The questionnaire is data: sections of questions, each with its type, labels in NL/FR/EN and,
for the choice types, its options. The office publishes a new version without code; every
confirmed sheet names the version it answered.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from libs.contracts.caller import Caller
from libs.contracts.envelope import Event
from libs.contracts.ids import DossierId
from libs.contracts.rpc import RpcMethod

QUESTION_ID_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
MAX_SECTIONS = 20
MAX_QUESTIONS = 100
MAX_OPTIONS = 30
MAX_TEXT_ANSWER = 2_000


class QuestionType(StrEnum):
    """How a question is answered."""

    TEXT = "text"
    YES_NO = "yes_no"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    NUMBER = "number"
    DATE = "date"


class Labels(BaseModel):
    """One text in the portal's three languages."""

    nl: str = Field(min_length=1, max_length=500)
    fr: str = Field(min_length=1, max_length=500)
    en: str = Field(min_length=1, max_length=500)


class ChoiceOption(BaseModel):
    value: str = Field(pattern=QUESTION_ID_PATTERN, description="Stored in the answers")
    labels: Labels


class Question(BaseModel):
    question_id: str = Field(pattern=QUESTION_ID_PATTERN,
                             description="Unique in the questionnaire; the answers' key")
    type: QuestionType
    labels: Labels
    help: Labels | None = Field(default=None, description="A line of explanation under it")
    required: bool = False
    options: list[ChoiceOption] = Field(
        default_factory=list, max_length=MAX_OPTIONS,
        description="Only (and at least two) for single_choice and multiple_choice")
    min_value: float | None = Field(default=None, description="number: the lowest allowed")
    max_value: float | None = Field(default=None, description="number: the highest allowed")
    prefill: str | None = Field(
        default=None, max_length=60,
        description="Where the dossier fills it in, e.g. person.birth_date (see the service)")


class Section(BaseModel):
    section_id: str = Field(pattern=QUESTION_ID_PATTERN)
    labels: Labels
    questions: list[Question] = Field(min_length=1, max_length=MAX_QUESTIONS)


class QuestionnaireDraft(BaseModel):
    """A questionnaire as the office writes it (checked further by the service)."""

    sections: list[Section] = Field(min_length=1, max_length=MAX_SECTIONS)


class Questionnaire(QuestionnaireDraft):
    """A published version."""

    version: int = Field(ge=1)
    published_at: datetime
    published_by: str = Field(default="", description="Who published it ('' for the shipped)")


AnswerText = Annotated[str, StringConstraints(max_length=MAX_TEXT_ANSWER * 2)]
AnswerValue = bool | int | float | AnswerText | Annotated[
    list[Annotated[str, StringConstraints(max_length=40)]], Field(max_length=MAX_OPTIONS)] | None
"""An answer as sent: yes/no true/false (or "yes"/"no"), a number (or its text), a date as
YYYY-MM-DD, a choice's option value, a list of option values."""


class DueState(BaseModel):
    due: bool = Field(description="True when the client should confirm a sheet now")
    last_confirmed_at: datetime | None = None
    due_since: datetime | None = Field(
        default=None, description="When it became due (None: not due)")
    next_due_at: datetime | None = Field(
        default=None, description="When a confirmed sheet runs out")


class ClientSheet(BaseModel):
    """A confirmed sheet: never changed after it was stored."""

    sheet_id: str
    dossier_id: str
    questionnaire_version: int
    answers: dict[str, AnswerValue]
    confirmed_by: str = Field(description="The client's user id")
    confirmed_by_name: str = ""
    confirmed_at: datetime
    request_id: str = Field(description="The request (kind client_sheet) it became")


class ClientSheetForm(BaseModel):
    """What the client sheet page shows: the current questionnaire, the answers to start from
    (the previous sheet's, else the dossier's data) and whether a sheet is due."""

    dossier_id: str
    questionnaire: Questionnaire
    prefill: dict[str, AnswerValue]
    due: DueState
    last_sheet: ClientSheet | None = None


class ClientSheetQuery(BaseModel):
    caller: Caller
    dossier_id: DossierId


class ConfirmClientSheetRequest(BaseModel):
    caller: Caller
    dossier_id: DossierId
    questionnaire_version: int = Field(ge=1, description="The version the client answered")
    answers: dict[str, AnswerValue] = Field(max_length=MAX_QUESTIONS)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    sender_name: str = Field(default="", max_length=200)
    correlation_id: str | None = None


class ConfirmedClientSheet(BaseModel):
    sheet: ClientSheet
    created: bool = Field(description="False when the idempotency key returned an earlier one")


class QuestionnaireQuery(BaseModel):
    caller: Caller
    version: int | None = Field(default=None, ge=1, description="None: the current version")


class PublishQuestionnaireRequest(BaseModel):
    caller: Caller
    draft: QuestionnaireDraft
    publisher_name: str = Field(default="", max_length=200)


class DossierSheetsQuery(BaseModel):
    caller: Caller
    dossier_id: DossierId


class DossierSheets(BaseModel):
    dossier_id: str
    due: DueState
    sheets: list[ClientSheet] = Field(description="Newest first")


class SheetOverviewQuery(BaseModel):
    """The office's list: every dossier the requests service knows, due ones first."""

    caller: Caller
    state: str = Field(default="all", pattern="^(all|due|confirmed)$")
    limit: int = Field(default=200, ge=1, le=1000)


class DossierSheetLine(BaseModel):
    dossier_id: str
    due: DueState
    last_sheet_id: str | None = None
    last_confirmed_by_name: str = ""


class SheetOverview(BaseModel):
    dossiers: list[DossierSheetLine]


GET_CLIENT_SHEET_DUE = RpcMethod(
    "requests.rpc.get_client_sheet_due", ClientSheetQuery, DueState)
GET_CLIENT_SHEET = RpcMethod("requests.rpc.get_client_sheet", ClientSheetQuery, ClientSheetForm)
CONFIRM_CLIENT_SHEET = RpcMethod(
    "requests.rpc.confirm_client_sheet", ConfirmClientSheetRequest, ConfirmedClientSheet)
GET_QUESTIONNAIRE = RpcMethod(
    "requests.rpc.get_client_sheet_questionnaire", QuestionnaireQuery, Questionnaire)
PUBLISH_QUESTIONNAIRE = RpcMethod(
    "requests.rpc.publish_client_sheet_questionnaire", PublishQuestionnaireRequest, Questionnaire)
LIST_DOSSIER_SHEETS = RpcMethod(
    "requests.rpc.list_dossier_client_sheets", DossierSheetsQuery, DossierSheets)
SHEET_OVERVIEW = RpcMethod(
    "requests.rpc.client_sheet_overview", SheetOverviewQuery, SheetOverview)


class ClientSheetDue(Event):
    """A dossier's client sheet is due (none confirmed, or the last one ran out): remind the
    dossier's clients by mail. Sent once per dossier and period; the notifier finds the
    recipients (the accounts granted the dossier), this service knows none for sure."""

    routing_key = "requests.client_sheet.due"

    due_since: datetime = Field(description="When the sheet became due")
    period: date = Field(description="The reminder period's first day (one mail per period)")
    last_confirmed_at: datetime | None = None
    last_confirmed_by: str | None = Field(
        default=None, description="Who confirmed the last sheet (user id), if any")


class ClientSheetConfirmed(Event):
    """A client confirmed the client sheet ("bevestigen = ondertekenen", manual 4.5): the
    signing service makes it a PDF of the dossier and offers it to that client for signature.
    Stored with the sheet's request (one per sheet, however often the confirmation is retried)."""

    routing_key = "requests.client_sheet.confirmed"

    sheet: ClientSheet
