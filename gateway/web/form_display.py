"""A sent form as a person reads it: its stored `form` dict as labelled rows, in the reader's
language, whatever the form's kind.

The rendering is generic (any key, nested objects, lists), with labels for the fields the five
forms use; the office's internal references (ids, snapshots of the data before) are left out:
what they name is shown beside them (a person's name, a risk object's description).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from gateway.web.i18n import Language, format_day, format_moment
from gateway.web.rendering import _mark

# The dossier data a form changes: accepted, it shows once the broker's system sent it back.
DATA_CHANGE_KINDS = ("personal_data", "address", "family_member")
_HIDDEN = re.compile(r"(_id|_ids|_before|refnis|^loss_at|^declaration_document_id)$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_TIME = re.compile(r"^(\d{2}:\d{2})(:\d{2}(\.\d+)?)?$")
DECLARATION = "declaration_document_id"  # the claim declaration kept as a PDF (manual 4.4)
LABELS: dict[str, str] = {
    "general": _mark("General data"),
    "last_name": _mark("Name"),
    "first_name": _mark("First name"),
    "birth_date": _mark("Birth date"),
    "national_number": _mark("National register number"),
    "language": _mark("Language"),
    "email": _mark("E-mail address"),
    "phone": _mark("Phone"),
    "street": _mark("Street"),
    "number": _mark("House number"),
    "box": _mark("Box"),
    "postal_code": _mark("Postal code"),
    "municipality": _mark("Municipality"),
    "iban": _mark("Bank account (IBAN)"),
    "start_date": _mark("Start date of the new address"),
    "person_names": _mark("Household members concerned"),
    "person_name": _mark("Person"),
    "changes": _mark("Requested changes"),
    "member_kind": _mark("Kind of family member"),
    "risk_objects": _mark("Damaged goods"),
    "other_risk_description": _mark("Description of another risk"),
    "loss_date": _mark("Date of the loss"),
    "loss_time": _mark("Time of the loss"),
    "description": _mark("Description"),
    "vat_liable": _mark("VAT-liable"),
    "police_report_number": _mark("Police report (proces-verbaal) number"),
    "attachments": _mark("Attached documents"),
    "policy_number": _mark("Contract number"),
    "remark": _mark("Remark"),
    "answers": _mark("Answers"),
}
VALUES: dict[str, str] = {
    "partner": _mark("Partner"),
    "child": _mark("Child"),
    "other_family": _mark("Other family member"),
    "other": _mark("Other"),
}


@dataclass(frozen=True)
class FormRow:
    """One line of a sent form: a label and a value, or a group of rows, or a document."""

    label: str
    value: str = ""
    rows: tuple["FormRow", ...] = field(default_factory=tuple)
    document_id: str | None = None


def _label(key: str, _: Callable[[str], str]) -> str:
    known = LABELS.get(key)
    return _(known) if known else key.replace("_", " ").strip().capitalize()


def _value(value: Any, language: Language, _: Callable[[str], str]) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, str):
        if _DAY.match(value):
            return format_day(date.fromisoformat(value), language)
        if (clock := _TIME.match(value)) is not None:
            return clock.group(1)
        if _MOMENT.match(value):
            try:
                return format_moment(datetime.fromisoformat(value), language)
            except ValueError:
                return value
        known = VALUES.get(value)
        return _(known) if known else value
    return str(value)


def _rows(data: dict[str, Any], language: Language, _: Callable[[str], str]) -> list[FormRow]:
    rows: list[FormRow] = []
    for key, value in data.items():
        if key == DECLARATION and value:
            rows.append(FormRow(_("Declaration (PDF)"), document_id=str(value)))
        elif value is not None and not _HIDDEN.search(key):  # None: a field not sent
            rows.append(_row(key, value, language, _))
    return rows


def _row(key: str, value: Any, language: Language, _: Callable[[str], str]) -> FormRow:
    label = _label(key, _)
    if isinstance(value, dict):
        if key.endswith("_names"):  # id -> name: the names are what a reader knows
            return FormRow(label, ", ".join(str(name) for name in value.values()) or "—")
        return FormRow(label, rows=tuple(_rows(value, language, _)))
    if isinstance(value, list):
        if not value:
            return FormRow(label, "—")
        if all(not isinstance(item, dict | list) for item in value):
            return FormRow(label, ", ".join(_value(item, language, _) for item in value))
        return FormRow(label, rows=tuple(_item(item, language, _) for item in value))
    return FormRow(label, _value(value, language, _))


def _item(item: Any, language: Language, _: Callable[[str], str]) -> FormRow:
    """One element of a list of objects: a changed field, a document, a risk object..."""
    if not isinstance(item, dict):
        return FormRow("", _value(item, language, _))
    if {"field", "old", "new"} <= item.keys():  # manual 4.1: old -> new, side by side
        return FormRow(_label(str(item["field"]), _), f"{_value(item['old'], language, _)} → "
                       f"{_value(item['new'], language, _)}")
    if "document_id" in item:
        return FormRow(str(item.get("filename") or _("Document")),
                       str(item.get("description") or ""), document_id=str(item["document_id"]))
    if "description" in item and len(item) <= 3:  # a named object (a risk object)
        return FormRow("", str(item["description"]))
    return FormRow("", rows=tuple(_rows(item, language, _)))


def readable_form(form: dict[str, Any] | None, language: Language,
                  _: Callable[[str], str]) -> list[FormRow]:
    """The rows of a form's stored payload (none for a message)."""
    return _rows(form, language, _) if form else []
