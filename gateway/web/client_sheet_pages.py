"""The client sheet's pages (manual 4.5): the client reviews, completes and confirms it; the
office lists the dossiers' sheets and reads one.

The questionnaire is data (the requests service's), so the page renders each question from its
type; the form's fields are `q_<question id>` (a multiple choice repeats its name). A refused
form comes back with the answers as typed and each error beside its question.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from gateway.deps import DossierIdPath, Rpc
from gateway.web.admin_pages import office_page, staff_only
from gateway.web.dossier_pages import _zone
from gateway.web.pages import CsrfChecked, Pages, PageSession
from gateway.web.rendering import _mark, in_dossier
from libs.contracts import client_sheet
from libs.contracts.client_sheet import AnswerValue, QuestionType
from libs.servicekit.errors import Conflict, Invalid, NotFound, RateLimited
from libs.servicekit.logs import correlation_id

router = APIRouter(include_in_schema=False)
FIELD_PREFIX = "q_"
MAX_FIELD_CHARACTERS = 2_000  # a longer text is refused by the service: no need to carry more
# The service's field messages, as the page says them (anything else: "not valid").
FIELD_MESSAGES = {
    "required": _mark("Please answer this question."),
    "must be a number": _mark("Enter a number."),
    "must be a date (YYYY-MM-DD)": _mark("Enter a date."),
    "must be a date in the past": _mark("Enter a date in the past."),
    "must be yes or no": _mark("Choose yes or no."),
    "choose one of the options": _mark("Choose one of the options."),
    "choose among the options": _mark("Choose among the options."),
}
INVALID_ANSWER = _mark("This answer is not valid.")


def answers_from_form(questionnaire: client_sheet.Questionnaire, form: FormData
                      ) -> dict[str, AnswerValue]:
    """The answers of the posted form, by question (the service checks and converts them)."""
    answers: dict[str, AnswerValue] = {}
    for section in questionnaire.sections:
        for question in section.questions:
            name = FIELD_PREFIX + question.question_id
            values = [value[:MAX_FIELD_CHARACTERS] for value in form.getlist(name)
                      if isinstance(value, str)]
            if question.type == QuestionType.MULTIPLE_CHOICE:
                answers[question.question_id] = values
            else:
                answers[question.question_id] = values[0] if values else None
    return answers


def shown_answers(answers: dict[str, AnswerValue]) -> dict[str, Any]:
    """The answers as the form's fields show them: yes/no as "yes"/"no", lists as lists."""
    shown: dict[str, Any] = {}
    for question_id, value in answers.items():
        if isinstance(value, bool):
            shown[question_id] = "yes" if value else "no"
        elif isinstance(value, list):
            shown[question_id] = value
        elif value is not None:
            shown[question_id] = str(value)
    return shown


async def _sheet_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc, *,
                      values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                      notice: str | None = None, status_code: int = 200) -> Response:
    context = await _zone(request, session, rpc)
    form = None
    if context["active"]:
        form = await rpc.call(client_sheet.GET_CLIENT_SHEET, client_sheet.ClientSheetQuery(
            caller=session.claims.caller(), dossier_id=context["active"]))
    return pages.render(request, "client_sheet/sheet.html", {
        **context, "form": form, "lang_labels": pages.language(request, session),
        "values": values if values is not None else shown_answers(form.prefill if form else {}),
        "errors": errors or {}, "notice": notice, "idempotency_key": uuid.uuid4().hex,
    }, session=session, status_code=status_code)


@router.get("/client-sheet")
async def client_sheet_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc
                            ) -> Response:
    """The client sheet, prefilled, to review and confirm ("Klantenfiche", manual 4.5)."""
    return await _sheet_page(request, session, pages, rpc)


@router.post("/client-sheet", dependencies=[CsrfChecked])
async def confirm_client_sheet(request: Request, session: PageSession, pages: Pages, rpc: Rpc
                               ) -> Response:
    """Confirm ("Bevestigen"): the confirmation page, or the form again with its errors."""
    _ = pages.gettext(pages.language(request, session))
    context = await _zone(request, session, rpc)
    if not context["active"]:
        raise NotFound("This dossier does not exist.")
    form = await request.form()
    current = await rpc.call(client_sheet.GET_CLIENT_SHEET, client_sheet.ClientSheetQuery(
        caller=session.claims.caller(), dossier_id=context["active"]))
    answers = answers_from_form(current.questionnaire, form)
    version = str(form.get("questionnaire_version", ""))
    key = str(form.get("idempotency_key", ""))[:200] or None
    try:
        confirmed = await rpc.call(client_sheet.CONFIRM_CLIENT_SHEET,
                                   client_sheet.ConfirmClientSheetRequest(
            caller=session.claims.caller(), dossier_id=context["active"],
            questionnaire_version=int(version) if version.isdigit() else 0,
            answers=answers, idempotency_key=key, sender_name=session.claims.name,
            correlation_id=correlation_id.get()))
    except Invalid as refused:
        errors = {field: _(FIELD_MESSAGES.get(message, INVALID_ANSWER))
                  for field, message in (refused.fields or {}).items()}
        return await _sheet_page(request, session, pages, rpc, values=shown_answers(answers),
                                 errors=errors, status_code=422, notice=_(
            "Some answers are missing or not valid. Please check the questions marked below."))
    except Conflict:
        return await _sheet_page(request, session, pages, rpc, values=shown_answers(answers),
                                 status_code=409, notice=_(
            "The questions of the client sheet changed meanwhile. Please review them and "
            "confirm again."))
    except RateLimited:
        return await _sheet_page(request, session, pages, rpc, values=shown_answers(answers),
                                 status_code=429, notice=_(
            "You confirmed your client sheet several times in a short while. Please try "
            "again later."))
    return pages.redirect(request, in_dossier(
        f"/client-sheet/confirmed?sheet={confirmed.sheet.sheet_id}", context["active"]))


@router.get("/client-sheet/confirmed")
async def client_sheet_confirmed(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    sheet: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """"Uw aanvraag werd verzonden en is in afwachting bij uw makelaar" (manual 4.5)."""
    context = await _zone(request, session, rpc)
    return pages.render(request, "client_sheet/confirmed.html", {**context, "sheet_id": sheet},
                        session=session)


# --- the office -------------------------------------------------------------------------------


@router.get("/admin/client-sheets")
async def office_client_sheets(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    state: Annotated[str, Query(pattern="^(all|due|confirmed)$")] = "all",
) -> Response:
    """The dossiers with their client sheet: due ones first, then the confirmed ones."""
    staff = staff_only(session)
    overview = await rpc.call(client_sheet.SHEET_OVERVIEW, client_sheet.SheetOverviewQuery(
        caller=staff.claims.caller(), state=state))
    return office_page(pages, request, staff, "admin/client_sheets.html",
                       {"overview": overview, "state": state})


@router.get("/admin/client-sheets/{dossier_id}")
async def office_dossier_client_sheets(
    dossier_id: DossierIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
) -> Response:
    """A dossier's client sheets, each answer under its question as the client saw it."""
    staff = staff_only(session)
    caller = staff.claims.caller()
    sheets = await rpc.call(client_sheet.LIST_DOSSIER_SHEETS, client_sheet.DossierSheetsQuery(
        caller=caller, dossier_id=dossier_id))
    questionnaires: dict[int, client_sheet.Questionnaire] = {}
    for sheet in sheets.sheets:
        if sheet.questionnaire_version not in questionnaires:
            questionnaires[sheet.questionnaire_version] = await rpc.call(
                client_sheet.GET_QUESTIONNAIRE, client_sheet.QuestionnaireQuery(
                    caller=caller, version=sheet.questionnaire_version))
    return office_page(pages, request, staff, "admin/client_sheet.html", {
        "dossier": sheets, "questionnaires": questionnaires,
        "lang_labels": pages.language(request, staff)})
