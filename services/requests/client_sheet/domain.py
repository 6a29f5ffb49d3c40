"""Rules of the client sheet (manual 4.5): the questionnaire's shape, the answers, when a sheet
is due and what it starts from (pure: no I/O)."""

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

from libs.contracts.client_sheet import (
    MAX_TEXT_ANSWER,
    AnswerValue,
    DueState,
    Question,
    QuestionnaireDraft,
    QuestionType,
)
from libs.contracts.dossier import Person, RiskObject
from libs.servicekit.errors import Invalid

CHOICES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE})
REQUIRED = "required"
YES = frozenset({"yes", "true", "ja", "oui", "1"})
NO = frozenset({"no", "false", "nee", "non", "0"})
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EARLIEST_DAY = date(1900, 1, 1)

# Where the dossier fills a question in: the main person's data and the household's risks.
PREFILL_SOURCES = frozenset({
    "person.first_name", "person.last_name", "person.birth_date", "person.email",
    "person.phone", "person.address", "dossier.vehicle_count", "dossier.home_status",
})
# A building's occupancy as the broker's system writes it -> the sheet's home status.
OCCUPANCY_TO_HOME = {"owner": "owner", "owner-occupier": "owner", "owner_occupier": "owner",
                     "tenant": "tenant"}


def validate_questionnaire(draft: QuestionnaireDraft) -> None:
    """Refuse a questionnaire the pages and the answers could not work with (field errors
    named by where they are, e.g. sections[1].questions[0].options)."""
    problems: dict[str, str] = {}
    section_ids: set[str] = set()
    question_ids: set[str] = set()
    for s, section in enumerate(draft.sections):
        if section.section_id in section_ids:
            problems[f"sections[{s}].section_id"] = f"used twice: {section.section_id}"
        section_ids.add(section.section_id)
        for q, question in enumerate(section.questions):
            where = f"sections[{s}].questions[{q}]"
            if question.question_id in question_ids:
                problems[f"{where}.question_id"] = f"used twice: {question.question_id}"
            question_ids.add(question.question_id)
            problems.update(_question_problems(question, where))
    if problems:
        raise Invalid("The questionnaire is not valid.", fields=problems)


def _question_problems(question: Question, where: str) -> dict[str, str]:
    problems: dict[str, str] = {}
    values = [option.value for option in question.options]
    if question.type in CHOICES:
        if len(values) < 2:
            problems[f"{where}.options"] = "a choice needs at least two options"
        elif len(set(values)) != len(values):
            problems[f"{where}.options"] = "each option's value must be unique"
    elif values:
        problems[f"{where}.options"] = f"a {question.type} question has no options"
    if question.type != QuestionType.NUMBER and (
            question.min_value is not None or question.max_value is not None):
        problems[f"{where}.min_value"] = "only a number question has bounds"
    if (question.min_value is not None and question.max_value is not None
            and question.min_value > question.max_value):
        problems[f"{where}.max_value"] = "must not be below min_value"
    if question.prefill is not None and question.prefill not in PREFILL_SOURCES:
        problems[f"{where}.prefill"] = "one of: " + ", ".join(sorted(PREFILL_SOURCES))
    return problems


def all_questions(draft: QuestionnaireDraft) -> Iterable[Question]:
    """Every question, in the order the page shows them."""
    for section in draft.sections:
        yield from section.questions


def _is_empty(value: AnswerValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _answer(question: Question, value: AnswerValue, today: date) -> AnswerValue:
    """`value` as stored for `question`; ValueError with what is wrong."""
    kind = question.type
    if kind == QuestionType.TEXT:
        if not isinstance(value, str) or isinstance(value, bool):
            raise ValueError("must be a text")
        text = value.strip()
        if len(text) > MAX_TEXT_ANSWER:
            raise ValueError(f"at most {MAX_TEXT_ANSWER} characters")
        return text
    if kind == QuestionType.YES_NO:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in YES | NO:
            return value.strip().lower() in YES
        raise ValueError("must be yes or no")
    if kind == QuestionType.NUMBER:
        return _number(question, value)
    if kind == QuestionType.DATE:
        return _day(value, today).isoformat()
    allowed = [option.value for option in question.options]
    if kind == QuestionType.SINGLE_CHOICE:
        if not isinstance(value, str) or value not in allowed:
            raise ValueError("choose one of the options")
        return value
    chosen = [value] if isinstance(value, str) else value
    if not isinstance(chosen, list) or any(
            not isinstance(item, str) or item not in allowed for item in chosen):
        raise ValueError("choose among the options")
    return [option for option in allowed if option in chosen]  # questionnaire order, once


def _number(question: Question, value: AnswerValue) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("must be a number")
    try:
        number = float(value.strip().replace(",", ".")) if isinstance(value, str) else \
            float(value)
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(number):
        raise ValueError("must be a number")
    if question.min_value is not None and number < question.min_value:
        raise ValueError(f"at least {question.min_value:g}")
    if question.max_value is not None and number > question.max_value:
        raise ValueError(f"at most {question.max_value:g}")
    return int(number) if number.is_integer() else number


def _day(value: AnswerValue, today: date) -> date:
    if not isinstance(value, str) or not ISO_DAY.match(value.strip()):
        raise ValueError("must be a date (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("must be a date (YYYY-MM-DD)") from None
    if not EARLIEST_DAY <= day <= today:
        raise ValueError("must be a date in the past")
    return day


def clean_answers(draft: QuestionnaireDraft, raw: Mapping[str, AnswerValue], today: date
                  ) -> dict[str, AnswerValue]:
    """The answers as stored (each normalised to its question's type; empty ones left out), or
    Invalid with one message per question that is missing, unknown or wrong."""
    questions = {question.question_id: question for question in all_questions(draft)}
    problems = {key: "not a question of this questionnaire" for key in raw if key not in questions}
    answers: dict[str, AnswerValue] = {}
    for question_id, question in questions.items():
        value = raw.get(question_id)
        if _is_empty(value):
            if question.required:
                problems[question_id] = REQUIRED
            continue
        try:
            answers[question_id] = _answer(question, value, today)
        except ValueError as error:
            problems[question_id] = str(error)
    if problems:
        raise Invalid("Some answers are missing or not valid.", fields=problems)
    return answers


# --- when a sheet is due ------------------------------------------------------------------


def due_state(last_confirmed_at: datetime | None, known_since: datetime, validity: timedelta,
              now: datetime) -> DueState:
    """Due when no sheet was confirmed (since the dossier is known) or the last one is older
    than `validity`."""
    if last_confirmed_at is None:
        return DueState(due=True, due_since=known_since)
    runs_out = last_confirmed_at + validity
    if now >= runs_out:
        return DueState(due=True, last_confirmed_at=last_confirmed_at, due_since=runs_out,
                        next_due_at=runs_out)
    return DueState(due=False, last_confirmed_at=last_confirmed_at, next_due_at=runs_out)


def reminder_period(due_since: datetime, validity: timedelta, now: datetime) -> date:
    """The first day of the reminder period `now` falls in: one reminder when a sheet becomes
    due, then one more per `validity` it stays due (a year without a sheet: a new reminder)."""
    elapsed = max(timedelta(0), now - due_since)
    periods = int(elapsed / validity) if validity > timedelta(0) else 0
    return (due_since + periods * validity).date()


# --- what the form starts from ---------------------------------------------------------------


def main_person(persons: Sequence[Person]) -> Person | None:
    """The person the sheet is about: the policyholder, else the household's first person."""
    for person in persons:
        if person.role == "policyholder":
            return person
    return persons[0] if persons else None


def dossier_sources(persons: Sequence[Person], risk_objects: Sequence[RiskObject]
                    ) -> dict[str, AnswerValue]:
    """What the dossier, as the office holds it, says for each prefill source."""
    sources: dict[str, AnswerValue] = {}
    person = main_person(persons)
    if person is not None:
        sources["person.first_name"] = person.first_name
        sources["person.last_name"] = person.last_name
        sources["person.birth_date"] = person.birth_date.isoformat() if person.birth_date else None
        sources["person.email"] = person.email
        sources["person.phone"] = person.phone
        if person.address is not None:
            address = person.address
            street = " ".join(part for part in (address.street, address.number) if part)
            box = f" bus {address.box}" if address.box else ""
            sources["person.address"] = f"{street}{box}, {address.postal_code} {address.city}"
    sources["dossier.vehicle_count"] = sum(1 for risk in risk_objects if risk.kind == "vehicle")
    for risk in risk_objects:
        occupancy = (risk.building.occupancy if risk.building else None) or ""
        if risk.kind == "building" and occupancy.lower() in OCCUPANCY_TO_HOME:
            sources["dossier.home_status"] = OCCUPANCY_TO_HOME[occupancy.lower()]
            break
    return sources


def prefill(draft: QuestionnaireDraft, sources: Mapping[str, AnswerValue],
            previous: Mapping[str, AnswerValue], today: date) -> dict[str, AnswerValue]:
    """The answers the form starts from: for a question the dossier fills in, the office's data
    (the broker's system is the master); else the previous sheet's answer. A value that no
    longer fits its question (an option the office removed) is left out."""
    answers: dict[str, AnswerValue] = {}
    for question in all_questions(draft):
        candidates: list[AnswerValue] = []
        if question.prefill is not None:
            candidates.append(sources.get(question.prefill))
        candidates.append(previous.get(question.question_id))
        for candidate in candidates:
            if _is_empty(candidate):
                continue
            try:
                answers[question.question_id] = _answer(question, candidate, today)
            except ValueError:
                continue
            break
    return answers
