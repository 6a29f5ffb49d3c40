"""The client sheet's rules (manual 4.5): the questionnaire the office publishes, the answers a
client confirms, when a sheet is due and what the form starts from."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from libs.contracts.client_sheet import AnswerValue, QuestionnaireDraft
from libs.contracts.dossier import Address, BuildingDetails, Person, RiskObject
from libs.servicekit.errors import Invalid
from services.requests.client_sheet.domain import (
    all_questions,
    clean_answers,
    dossier_sources,
    due_state,
    main_person,
    prefill,
    reminder_period,
    validate_questionnaire,
)
from services.requests.client_sheet.handlers import shipped_questionnaire

TODAY = date(2026, 12, 5)
YEAR = timedelta(days=365)
LABELS = {"nl": "Vraag", "fr": "Question", "en": "Question"}


def question(question_id: str, type_: str, **fields: Any) -> dict[str, Any]:
    return {"question_id": question_id, "type": type_, "labels": LABELS, **fields}


def option(value: str) -> dict[str, Any]:
    return {"value": value, "labels": {"nl": value, "fr": value, "en": value}}


def draft(*questions: dict[str, Any]) -> QuestionnaireDraft:
    return QuestionnaireDraft.model_validate({"sections": [
        {"section_id": "main", "labels": LABELS, "questions": list(questions)}]})


SHEET = draft(
    question("profession", "text", required=True),
    question("married", "yes_no", required=True),
    question("children", "number", min_value=0, max_value=20),
    question("birth_date", "date"),
    question("home", "single_choice", options=[option("owner"), option("tenant")]),
    question("risks", "multiple_choice", required=True,
             options=[option("car"), option("home"), option("travel")]),
)


def refusal(raw: dict[str, Any], questionnaire: QuestionnaireDraft = SHEET) -> dict[str, str]:
    with pytest.raises(Invalid) as refused:
        clean_answers(questionnaire, raw, TODAY)
    return refused.value.fields or {}


# --- the questionnaire --------------------------------------------------------------------


def test_the_shipped_questionnaire_asks_what_the_distribution_rules_want_in_three_languages(
) -> None:
    shipped = shipped_questionnaire()
    questions = list(all_questions(shipped))
    assert 15 <= len(questions) <= 25
    ids = {q.question_id for q in questions}
    # situation, demands and needs, investment profile (branch 21/23), sustainability
    assert {"family_status", "profession", "home_status", "vehicle_count", "risks_to_cover",
            "investment_knowledge", "investment_horizon", "loss_tolerance",
            "sustainability_preference"} <= ids
    assert {section.section_id for section in shipped.sections} == {
        "situation", "needs", "investment_profile", "sustainability"}
    for q in questions:
        assert all(q.labels.model_dump().values())
        for choice in q.options:
            assert all(choice.labels.model_dump().values())


def test_a_question_id_used_twice_is_refused_with_where() -> None:
    with pytest.raises(Invalid) as refused:
        validate_questionnaire(draft(question("a", "text"), question("a", "date")))
    assert refused.value.fields == {"sections[0].questions[1].question_id": "used twice: a"}


@pytest.mark.parametrize(("broken", "field", "message"), [
    (question("q", "single_choice", options=[option("x")]), "options",
     "a choice needs at least two options"),
    (question("q", "multiple_choice", options=[option("x"), option("x")]), "options",
     "each option's value must be unique"),
    (question("q", "text", options=[option("x"), option("y")]), "options",
     "a text question has no options"),
    (question("q", "number", min_value=10, max_value=1), "max_value",
     "must not be below min_value"),
    (question("q", "date", min_value=1), "min_value", "only a number question has bounds"),
])
def test_a_question_the_pages_could_not_show_is_refused(broken: dict[str, Any], field: str,
                                                      message: str) -> None:
    with pytest.raises(Invalid) as refused:
        validate_questionnaire(draft(broken))
    assert refused.value.fields == {f"sections[0].questions[0].{field}": message}


def test_a_prefill_from_an_unknown_place_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        validate_questionnaire(draft(question("q", "text", prefill="person.shoe_size")))
    assert "person.birth_date" in (refused.value.fields or {})[
        "sections[0].questions[0].prefill"]


@pytest.mark.parametrize("broken", [
    {"sections": []},
    {"sections": [{"section_id": "s", "labels": LABELS, "questions": [
        question("q", "colour")]}]},
    {"sections": [{"section_id": "s", "labels": {"nl": "Vraag", "fr": "Question"},
                   "questions": [question("q", "text")]}]},
    {"sections": [{"section_id": "s", "labels": LABELS, "questions": [
        question("Not An Id!", "text")]}]},
])
def test_the_schema_refuses_a_questionnaire_without_sections_types_or_labels(
    broken: dict[str, Any],
) -> None:
    with pytest.raises(ValidationError):
        QuestionnaireDraft.model_validate(broken)


# --- answers ----------------------------------------------------------------------------------


def test_answers_are_stored_in_their_question_s_type() -> None:
    answers = clean_answers(SHEET, {
        "profession": "  Verpleegkundige ", "married": "yes", "children": "2",
        "birth_date": "1984-03-12", "home": "tenant", "risks": ["travel", "car"]}, TODAY)
    assert answers == {"profession": "Verpleegkundige", "married": True, "children": 2,
                       "birth_date": "1984-03-12", "home": "tenant",
                       "risks": ["car", "travel"]}  # the questionnaire's order


def test_json_values_are_taken_as_they_are() -> None:
    answers = clean_answers(SHEET, {"profession": "Leraar", "married": False, "children": 1.5,
                                    "risks": "home"}, TODAY)
    assert answers == {"profession": "Leraar", "married": False, "children": 1.5,
                       "risks": ["home"]}


def test_empty_optional_answers_are_left_out_and_required_ones_named() -> None:
    assert refusal({"profession": " ", "children": "", "risks": []}) == {
        "profession": "required", "married": "required", "risks": "required"}


@pytest.mark.parametrize(("raw", "problem"), [
    ({"married": "maybe"}, {"married": "must be yes or no"}),
    ({"married": 1}, {"married": "must be yes or no"}),
    ({"children": "two"}, {"children": "must be a number"}),
    ({"children": True}, {"children": "must be a number"}),
    ({"children": "21"}, {"children": "at most 20"}),
    ({"children": "-1"}, {"children": "at least 0"}),
    ({"children": "nan"}, {"children": "must be a number"}),
    ({"birth_date": "12/03/1984"}, {"birth_date": "must be a date (YYYY-MM-DD)"}),
    ({"birth_date": "2026-02-30"}, {"birth_date": "must be a date (YYYY-MM-DD)"}),
    ({"birth_date": "2027-01-01"}, {"birth_date": "must be a date in the past"}),
    ({"home": "castle"}, {"home": "choose one of the options"}),
    ({"risks": ["car", "boat"]}, {"risks": "choose among the options"}),
    ({"profession": ["a"]}, {"profession": "must be a text"}),
    ({"profession": "x" * 2001}, {"profession": "at most 2000 characters"}),
    ({"shoe_size": "44"}, {"shoe_size": "not a question of this questionnaire"}),
])
def test_a_wrong_answer_is_refused_beside_its_question(raw: dict[str, Any],
                                                       problem: dict[str, str]) -> None:
    valid: dict[str, Any] = {"profession": "Leraar", "married": "no", "risks": ["car"]}
    assert refusal({**valid, **raw}) == problem


def test_a_decimal_comma_is_a_number() -> None:
    answers = clean_answers(SHEET, {"profession": "x", "married": "nee", "risks": ["car"],
                                    "children": "2,0"}, TODAY)
    assert answers["children"] == 2 and answers["married"] is False


# --- due ---------------------------------------------------------------------------------------

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def test_a_dossier_without_a_sheet_is_due_since_it_is_known() -> None:
    known = NOW - timedelta(days=3)
    state = due_state(None, known, YEAR, NOW)
    assert (state.due, state.due_since, state.last_confirmed_at) == (True, known, None)


def test_a_sheet_younger_than_the_period_is_not_due_and_says_until_when() -> None:
    confirmed = NOW - timedelta(days=364)
    state = due_state(confirmed, NOW - timedelta(days=900), YEAR, NOW)
    assert (state.due, state.next_due_at) == (False, confirmed + YEAR)


def test_a_sheet_older_than_the_period_is_due_since_it_ran_out() -> None:
    confirmed = NOW - timedelta(days=366)
    state = due_state(confirmed, NOW - timedelta(days=900), YEAR, NOW)
    assert (state.due, state.due_since, state.last_confirmed_at) == (
        True, confirmed + YEAR, confirmed)


def test_one_reminder_period_per_validity_while_it_stays_due() -> None:
    due_since = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert reminder_period(due_since, YEAR, due_since) == date(2025, 3, 1)
    assert reminder_period(due_since, YEAR, due_since + timedelta(days=200)) == date(2025, 3, 1)
    assert reminder_period(due_since, YEAR, due_since + timedelta(days=366)) == date(2026, 3, 1)


# --- prefill -----------------------------------------------------------------------------------

PIETER = Person(person_id="P1", role="policyholder", last_name="Dupont", first_name="Pieter",
                birth_date=date(1980, 5, 17), email="pieter@example.be", phone="+32 470 12 34 56",
                address=Address(street="Kerkstraat", number="12", box="3", postal_code="9000",
                                city="Gent"))
CHILD = Person(person_id="P2", role="child", last_name="Dupont", first_name="Lotte")
CAR = RiskObject(risk_object_id="R1", kind="vehicle", description="Auto")
HOUSE = RiskObject(risk_object_id="R2", kind="building", description="Woning",
                   building=BuildingDetails(occupancy="Tenant"))


def test_the_policyholder_is_the_sheet_s_person_whoever_comes_first() -> None:
    assert main_person([CHILD, PIETER]) == PIETER
    assert main_person([CHILD]) == CHILD
    assert main_person([]) is None


def test_the_dossier_tells_the_person_s_data_vehicles_and_home() -> None:
    sources = dossier_sources([CHILD, PIETER], [CAR, HOUSE, CAR])
    assert sources["person.birth_date"] == "1980-05-17"
    assert sources["person.address"] == "Kerkstraat 12 bus 3, 9000 Gent"
    assert sources["dossier.vehicle_count"] == 2
    assert sources["dossier.home_status"] == "tenant"


def test_the_office_s_data_win_and_the_previous_answers_fill_the_rest() -> None:
    questionnaire = draft(
        question("birth_date", "date", prefill="person.birth_date"),
        question("vehicles", "number", prefill="dossier.vehicle_count"),
        question("profession", "text"),
        question("home", "single_choice", options=[option("owner"), option("tenant")]),
    )
    sources = dossier_sources([PIETER], [CAR])
    previous: dict[str, AnswerValue] = {"birth_date": "1980-05-18", "vehicles": 3, "profession": "Bakker",
                "home": "castle"}  # an option the office removed since
    assert prefill(questionnaire, sources, previous, TODAY) == {
        "birth_date": "1980-05-17", "vehicles": 1, "profession": "Bakker"}
