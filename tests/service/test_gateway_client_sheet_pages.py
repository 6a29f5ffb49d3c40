"""The client sheet's pages on the gateway alone (fake services): the welcome tile while the sheet
is due, each question type drawn from the questionnaire's data, a refused form shown again with
what was typed and the errors beside the questions, and the office's reading of a sheet."""

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel

from libs.contracts import client_sheet
from libs.contracts.caller import Role
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Conflict, Invalid
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_pages import csrf, sign_in


def labels(nl: str) -> dict[str, str]:
    return {"nl": nl, "fr": f"{nl} (fr)", "en": f"{nl} (en)"}


QUESTIONNAIRE = client_sheet.Questionnaire.model_validate({
    "version": 3, "published_at": utc_now(), "sections": [{
        "section_id": "situation", "labels": labels("Uw situatie"), "questions": [
            {"question_id": "profession", "type": "text", "labels": labels("Beroep"),
             "required": True},
            {"question_id": "married", "type": "yes_no", "labels": labels("Gehuwd?")},
            {"question_id": "children", "type": "number", "labels": labels("Kinderen"),
             "min_value": 0, "max_value": 20},
            {"question_id": "birth_date", "type": "date", "labels": labels("Geboortedatum")},
            {"question_id": "home", "type": "single_choice", "labels": labels("Woning"),
             "options": [{"value": "owner", "labels": labels("Eigenaar")},
                         {"value": "tenant", "labels": labels("Huurder")}]},
            {"question_id": "risks", "type": "multiple_choice", "labels": labels("Risico's"),
             "required": True,
             "options": [{"value": "car", "labels": labels("Auto")},
                         {"value": "travel", "labels": labels("Reis")}]}]}]})


def sheet_form(due: bool = True) -> client_sheet.ClientSheetForm:
    return client_sheet.ClientSheetForm(
        dossier_id="D1", questionnaire=QUESTIONNAIRE, prefill={"birth_date": "1980-05-17",
                                                              "home": "owner"},
        due=client_sheet.DueState(due=due))


def open_sheet(gateway: Gateway, due: bool = True) -> None:
    gateway.rpc.answer(client_sheet.GET_CLIENT_SHEET, sheet_form(due))
    gateway.rpc.answer(client_sheet.GET_CLIENT_SHEET_DUE, client_sheet.DueState(due=due))
    sign_in(gateway)


def post(gateway: Gateway, fields: list[tuple[str, str]]) -> Any:
    """Post the sheet's form as a browser does (a multiple choice repeats its name)."""
    body = urlencode([("csrf_token", csrf(gateway)), ("questionnaire_version", "3"),
                      ("idempotency_key", "key-1"), *fields])
    return gateway.client.post("/client-sheet?dossier=D1", content=body, headers={
        "content-type": "application/x-www-form-urlencoded"})


def test_the_welcome_page_shows_the_client_sheet_only_while_it_is_due(gateway: Gateway) -> None:
    open_sheet(gateway, due=True)
    welcome = gateway.client.get("/")
    assert "Klantenfiche invullen" in welcome.text
    assert 'href="/client-sheet?dossier=D1"' in welcome.text

    gateway.rpc.answer(client_sheet.GET_CLIENT_SHEET_DUE, client_sheet.DueState(
        due=False, last_confirmed_at=datetime(2026, 3, 4, 9, 30, tzinfo=UTC)))
    confirmed = gateway.client.get("/").text
    assert "Klantenfiche invullen" not in confirmed
    assert "U bevestigde uw klantenfiche op 4 mrt 2026, 10:30." in confirmed


def test_every_question_type_is_drawn_from_the_data_with_the_prefill(gateway: Gateway) -> None:
    open_sheet(gateway)
    page = gateway.client.get("/client-sheet").text

    assert 'id="q_profession" name="q_profession" type="text"' in page
    assert 'type="radio" name="q_married" value="yes"' in page
    assert 'name="q_children" type="number" step="any" inputmode="decimal" min="0.0"' in page
    assert 'type="date" value="1980-05-17"' in page
    assert 'name="q_home" value="owner" checked' in page
    assert 'type="checkbox" name="q_risks" value="travel"' in page
    assert 'name="questionnaire_version" value="3"' in page
    assert page.count('class="required-mark"') == 2  # profession, risks


def test_a_refused_sheet_keeps_what_was_typed_and_says_what_is_wrong_beside_it(
    gateway: Gateway,
) -> None:
    open_sheet(gateway)
    gateway.rpc.answer(client_sheet.CONFIRM_CLIENT_SHEET, Invalid(
        "Some answers are missing or not valid.",
        fields={"profession": "required", "children": "at most 20"}))

    refused = post(gateway, [("q_profession", ""), ("q_children", "25"), ("q_married", "no"),
                             ("q_risks", "car"), ("q_risks", "travel")])

    assert refused.status_code == 422
    page = refused.text
    assert '<p class="alert field-error" id="q_profession-error">Beantwoord deze vraag.</p>' \
        in page
    assert 'id="q_children-error">Dit antwoord is niet geldig.' in page
    assert 'value="25"' in page and 'name="q_married" value="no" checked' in page
    assert 'name="q_risks" value="car" checked' in page
    assert 'name="q_risks" value="travel" checked' in page
    [sent] = gateway.rpc.called(client_sheet.CONFIRM_CLIENT_SHEET)
    assert isinstance(sent, client_sheet.ConfirmClientSheetRequest)
    assert sent.answers == {"profession": "", "married": "no", "children": "25",
                            "birth_date": None, "home": None, "risks": ["car", "travel"]}
    assert (sent.questionnaire_version, sent.idempotency_key) == (3, "key-1")


def test_a_changed_questionnaire_asks_to_review_and_a_confirmed_one_shows_the_confirmation(
    gateway: Gateway,
) -> None:
    open_sheet(gateway)
    gateway.rpc.answer(client_sheet.CONFIRM_CLIENT_SHEET, Conflict("changed"))
    stale = post(gateway, [("q_profession", "Leraar")])
    assert stale.status_code == 409
    assert "De vragen van de klantenfiche werden intussen gewijzigd" in stale.text
    assert 'value="Leraar"' in stale.text

    def confirmed(request: BaseModel) -> client_sheet.ConfirmedClientSheet:
        return client_sheet.ConfirmedClientSheet(created=True, sheet=client_sheet.ClientSheet(
            sheet_id="s1", dossier_id="D1", questionnaire_version=3, answers={},
            confirmed_by="u1", confirmed_at=utc_now(), request_id="r1"))

    gateway.rpc.answer(client_sheet.CONFIRM_CLIENT_SHEET, confirmed)
    done = post(gateway, [("q_profession", "Leraar"), ("q_risks", "car")])
    assert done.status_code == 303
    assert done.headers["location"] == "/client-sheet/confirmed?sheet=s1&dossier=D1"
    page = gateway.client.get(done.headers["location"]).text
    assert "Uw aanvraag werd verzonden en is in afwachting bij uw makelaar." in page


def test_the_office_reads_each_answer_under_its_question(gateway: Gateway) -> None:
    gateway.rpc.answer(client_sheet.LIST_DOSSIER_SHEETS, client_sheet.DossierSheets(
        dossier_id="D1", due=client_sheet.DueState(due=False), sheets=[client_sheet.ClientSheet(
            sheet_id="s1", dossier_id="D1", questionnaire_version=3,
            answers={"profession": "Leraar", "married": True, "risks": ["car", "travel"],
                     "home": "tenant"},
            confirmed_by="u1", confirmed_by_name="An Peeters", confirmed_at=utc_now(),
            request_id="r1")]))
    gateway.rpc.answer(client_sheet.GET_QUESTIONNAIRE, QUESTIONNAIRE)
    sign_in(gateway, next_page="/admin/client-sheets/D1", role=Role.ADMIN, dossiers=())

    page = gateway.client.get("/admin/client-sheets/D1").text

    assert "<dt>Beroep</dt>" in page and "Leraar" in page
    assert "Auto, Reis" in page and "Huurder" in page and "Ja" in page
    assert "Niet beantwoord" in page  # the children, never answered
    [asked] = gateway.rpc.called(client_sheet.GET_QUESTIONNAIRE)
    assert isinstance(asked, client_sheet.QuestionnaireQuery) and asked.version == 3


def test_the_office_lists_the_dossiers_due_first_with_the_questionnaire_in_use(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(client_sheet.SHEET_OVERVIEW, client_sheet.SheetOverview(dossiers=[
        client_sheet.DossierSheetLine(dossier_id="D2", due=client_sheet.DueState(due=True)),
        client_sheet.DossierSheetLine(
            dossier_id="D1", last_confirmed_by_name="An Peeters", due=client_sheet.DueState(
                due=False, last_confirmed_at=datetime(2026, 3, 4, 9, 30, tzinfo=UTC)))]))
    gateway.rpc.answer(client_sheet.GET_QUESTIONNAIRE, QUESTIONNAIRE)
    sign_in(gateway, next_page="/admin/client-sheets", role=Role.ADMIN, dossiers=())

    page = gateway.client.get("/admin/client-sheets?state=all").text

    assert page.index('href="/admin/client-sheets/D2"') < page.index(
        'href="/admin/client-sheets/D1"')
    assert "Nooit bevestigd" in page
    assert "Bevestigd op 4 mrt 2026, 10:30 door An Peeters" in page
    assert "Vragenlijst versie 3" in page
    assert gateway.client.get("/admin/client-sheets?state=sometimes").status_code == 422
