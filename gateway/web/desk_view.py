"""How the office's request desk shows a request: the names of kinds, statuses and timeline
steps, and each form's payload as readable sections (for a change of personal data the old and
the new value side by side). Pure: the page module reads, this one only words and formats.

A form's payload arrives as the requests service stored it (JSON: dates as ISO text). Fields
this module does not know are still shown, under their own name, so nothing a client sent is
ever hidden from the office.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from gateway.web.rendering import _mark

Translate = Callable[[str], str]
FormatDay = Callable[[date], str]

KIND_NAMES: Mapping[str, str] = {
    "message": _mark("Message"),
    "personal_data": _mark("Change of personal data"),
    "address": _mark("Change of address"),
    "family_member": _mark("New family member"),
    "claim": _mark("Claim declaration"),
    "client_sheet": _mark("Client sheet"),
}
STATUS_NAMES: Mapping[str, str] = {
    "pending": _mark("Pending"),
    "in_progress": _mark("In progress"),
    "accepted": _mark("Accepted"),
    "refused": _mark("Refused"),
    "closed": _mark("Closed"),
}
STEP_NAMES: Mapping[str, str] = {
    "sent": _mark("Sent by the client"),
    "taken": _mark("Taken in progress"),
    "answered": _mark("Answered"),
    "client_replied": _mark("The client replied"),
    "accepted": _mark("Accepted"),
    "refused": _mark("Refused"),
    "closed": _mark("Closed"),
    "released": _mark("Released (pending again)"),
    "reassigned": _mark("Reassigned"),
}
ABOUT_NAMES: Mapping[str, str] = {
    "general": _mark("General"),
    "personal_data": _mark("Personal data"),
    "person": _mark("A person"),
    "contract": _mark("Contract"),
    "risk_object": _mark("Risk object"),
    "claim": _mark("Claim"),
}
# Which status a request may move to from which (the requests service is the judge: a page
# only offers what could succeed, and says so readably when the service refuses anyway).
MOVES: Mapping[str, frozenset[str]] = {
    "pending": frozenset({"in_progress", "accepted", "refused", "closed"}),
    "in_progress": frozenset({"accepted", "refused", "closed", "pending"}),
    "accepted": frozenset({"closed"}),
    "refused": frozenset({"closed"}),
    "closed": frozenset(),
}
FIELD_NAMES: Mapping[str, str] = {
    "last_name": _mark("Last name"),
    "first_name": _mark("First name"),
    "birth_date": _mark("Birth date"),
    "national_number": _mark("National register number"),
    "language": _mark("Language"),
    "email": _mark("E-mail address"),
    "phone": _mark("Phone"),
    "start_date": _mark("Start date of the new address"),
    "street": _mark("Street"),
    "number": _mark("Number"),
    "box": _mark("Box"),
    "postal_code": _mark("Postal code"),
    "municipality": _mark("Municipality"),
    "member_kind": _mark("Kind of family member"),
    "iban": _mark("Bank account (IBAN)"),
    "other_risk_description": _mark("Description of another risk"),
    "loss_date": _mark("Date of the loss"),
    "loss_time": _mark("Time of the loss"),
    "description": _mark("Description"),
    "vat_liable": _mark("VAT-liable"),
    "police_report_number": _mark("Police report (proces-verbaal) number"),
    "policy_number": _mark("Contract"),
}
MEMBER_KINDS: Mapping[str, str] = {
    "partner": _mark("Partner"),
    "child": _mark("Child"),
    "other_family": _mark("Other family member"),
    "other": _mark("Other"),
}
# Languages are named in their own language, as everywhere in the portal.
LANGUAGE_NAMES = {"nl": "Nederlands", "fr": "Français", "de": "Deutsch", "en": "English"}
DATE_FIELDS = frozenset({"birth_date", "start_date", "loss_date"})
# Ids, versions and copies of the dossier taken at submission: read by the service, not news.
HIDDEN_FIELDS = frozenset({"person_id", "person_ids", "risk_object_ids", "refnis",
                           "person_before", "persons_before", "contract_id", "loss_at",
                           "declaration_document_id", "attachments", "risk_objects",
                           "changes", "person_names", "person_name", "general"})
EMPTY = "—"


@dataclass(frozen=True)
class Row:
    """One line of a section: a label and the value as shown."""

    label: str
    value: str


@dataclass(frozen=True)
class Change:
    """A changed field of a person: what the office held and what the client asks."""

    label: str
    old: str
    new: str


@dataclass(frozen=True)
class FileLink:
    """A document sent with a form (the claim's attachments, its declaration PDF); no id:
    the file never arrived."""

    document_id: str
    name: str
    description: str = ""


@dataclass
class FormSection:
    """A titled part of a form as the office reads it."""

    title: str
    rows: list[Row] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    files: list[FileLink] = field(default_factory=list)


class FormWords:
    """Words and formats of one reader's language."""

    def __init__(self, translate: Translate, day: FormatDay) -> None:
        self._ = translate
        self._day = day

    def label(self, name: str) -> str:
        """A field's label; an unknown field by its own name, made readable."""
        known = FIELD_NAMES.get(name)
        return self._(known) if known else name.replace("_", " ").capitalize()

    def value(self, name: str, value: Any) -> str:
        """A field's value as a person reads it."""
        if value is None or value == "" or value == [] or value == {}:
            return EMPTY
        if isinstance(value, bool):
            return self._("Yes") if value else self._("No")
        if name == "language" and isinstance(value, str):
            return LANGUAGE_NAMES.get(value, value)
        if name == "member_kind" and isinstance(value, str) and value in MEMBER_KINDS:
            return self._(MEMBER_KINDS[value])
        if name in DATE_FIELDS or isinstance(value, date):
            return self._date(value)
        if name == "loss_time":
            return _clock_time(value)
        if isinstance(value, list):
            return ", ".join(self.value(name, item) for item in value)
        if isinstance(value, dict):
            return "; ".join(f"{self.label(k)}: {self.value(k, v)}" for k, v in value.items())
        return str(value)

    def _date(self, value: Any) -> str:
        if isinstance(value, datetime):
            return self._day(value.date())
        if isinstance(value, date):
            return self._day(value)
        try:
            return self._day(date.fromisoformat(str(value)[:10]))
        except ValueError:
            return str(value)

    def rows(self, form: Mapping[str, Any], names: tuple[str, ...] = ()) -> list[Row]:
        """`names` of `form` first, in that order, then every other field it holds (so no
        field of a newer form is ever left out), less the hidden ones."""
        order = [name for name in names if name in form]
        order += [name for name in form if name not in names and name not in HIDDEN_FIELDS]
        return [Row(self.label(name), self.value(name, form[name])) for name in order]


def _clock_time(value: Any) -> str:
    """"14:05" of a time or "14:05:00"."""
    if isinstance(value, time):
        return value.strftime("%H:%M")
    text = str(value)
    try:
        return time.fromisoformat(text).strftime("%H:%M")
    except ValueError:
        return text


PERSON_FIELDS = ("last_name", "first_name", "birth_date", "national_number", "language",
                 "email", "phone")
ADDRESS_FIELDS = ("start_date", "street", "number", "box", "postal_code", "municipality")
CLAIM_FIELDS = ("policy_number", "loss_date", "loss_time", "description", "vat_liable",
                "police_report_number", "other_risk_description")
GENERAL_DATA_FIELDS = ("last_name", "first_name", "email", "phone", "street", "number", "box",
                       "postal_code", "municipality", "iban")


def _personal_data(form: Mapping[str, Any], words: FormWords, _: Translate
                   ) -> list[FormSection]:
    section = FormSection(_("Personal data to change"))
    if form.get("person_name"):
        section.rows.append(Row(_("Person"), str(form["person_name"])))
    for change in form.get("changes") or []:
        name = str(change.get("field", ""))
        section.changes.append(Change(words.label(name), words.value(name, change.get("old")),
                                      words.value(name, change.get("new"))))
    if not section.changes:  # no list of changes: show the values the client gave
        section.rows += [row for row in words.rows(form, PERSON_FIELDS) if row.value != EMPTY]
    return [section]


def _address(form: Mapping[str, Any], words: FormWords, _: Translate) -> list[FormSection]:
    section = FormSection(_("New address"), rows=words.rows(form, ADDRESS_FIELDS))
    names: Mapping[str, Any] = form.get("person_names") or {}
    movers = [str(names.get(person_id, person_id)) for person_id in form.get("person_ids") or []]
    section.rows.append(Row(_("Household members who move"), ", ".join(movers) or EMPTY))
    return [section]


def _family_member(form: Mapping[str, Any], words: FormWords, _: Translate
                   ) -> list[FormSection]:
    return [FormSection(_("The new family member"),
                        rows=words.rows(form, ("member_kind", *PERSON_FIELDS)))]


def _claim(form: Mapping[str, Any], words: FormWords, _: Translate) -> list[FormSection]:
    general = FormSection(_("General data"),
                          rows=words.rows(form.get("general") or {}, GENERAL_DATA_FIELDS))
    goods = FormSection(_("Damaged goods"))
    described = form.get("risk_objects") or []
    for risk in described:
        goods.rows.append(Row(_("Risk object"), str(risk.get("description") or
                                                    risk.get("risk_object_id", ""))))
    if not described:
        goods.rows += [Row(_("Risk object"), str(ref)) for ref in form.get("risk_object_ids") or []]
    if form.get("other_risk_description"):
        goods.rows.append(Row(words.label("other_risk_description"),
                              str(form["other_risk_description"])))
    if not goods.rows:
        goods.rows.append(Row(_("Risk object"), EMPTY))
    loss = FormSection(_("The claim"), rows=[
        row for row in words.rows(form, CLAIM_FIELDS)
        if row.label != words.label("other_risk_description")])
    files = FormSection(_("Documents of the declaration"))
    if form.get("declaration_document_id"):
        files.files.append(FileLink(str(form["declaration_document_id"]),
                                    _("Claim declaration (PDF)")))
    # A file whose upload never completed has no document: named, without a link.
    files.files += [FileLink(str(attachment.get("document_id") or ""),
                             str(attachment.get("filename") or attachment.get("document_id")
                                 or "?"),
                             str(attachment.get("description") or ""))
                    for attachment in form.get("attachments") or []]
    return [general, goods, loss, *([files] if files.files else [])]


def _client_sheet(form: Mapping[str, Any], words: FormWords, _: Translate
                  ) -> list[FormSection]:
    # The questionnaire is data the office may change: its answers are keyed by question id.
    answers: Mapping[str, Any] = form.get("answers") or {}
    version = form.get("questionnaire_version")
    title = _("Client sheet") if version is None else _(
        "Client sheet (questionnaire version %(version)s)") % {"version": version}
    return [FormSection(title, rows=[Row(words.label(question), words.value(question, answer))
                                     for question, answer in answers.items()])]


SECTIONS = {
    "client_sheet": _client_sheet,
    "personal_data": _personal_data,
    "address": _address,
    "family_member": _family_member,
    "claim": _claim,
}


def form_sections(kind: str, form: Mapping[str, Any] | None, translate: Translate,
                  day: FormatDay) -> list[FormSection]:
    """What a form says, section by section, in the reader's language (none for a message)."""
    if not form:
        return []
    words = FormWords(translate, day)
    known = SECTIONS.get(kind)
    if known is not None:
        return known(form, words, translate)
    title = translate(KIND_NAMES[kind]) if kind in KIND_NAMES else kind
    return [FormSection(title, rows=words.rows(form))]


def request_title(kind: str, subject: str, translate: Translate) -> str:
    """A request's title: a message's subject, a form's kind (forms carry no subject)."""
    if subject.strip():
        return subject
    return translate(KIND_NAMES[kind]) if kind in KIND_NAMES else kind


def allowed_moves(status: str) -> frozenset[str]:
    """The statuses a request in `status` may be moved to."""
    return MOVES.get(status, frozenset())
