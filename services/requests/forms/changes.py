"""An accepted data change as the dossier-import schema's record (pure).

The broker's management system is the master of the dossier: it is offered the change as the
record it would import itself (DossierRecord: the persons concerned, whole, as they would be
after the change), not written into the portal's copy of the dossier.
"""

from datetime import date, datetime
from typing import Any

from libs.contracts.dossier import Address, DossierRecord, Person
from libs.contracts.request_forms import (
    AddressRecord,
    DataChange,
    FamilyMemberKind,
    FamilyMemberRecord,
    FormKind,
    PersonalDataRecord,
)

NEW_PERSON_PREFIX = "REQ-"
ROLES = {FamilyMemberKind.PARTNER: "partner", FamilyMemberKind.CHILD: "child",
         FamilyMemberKind.OTHER_FAMILY: "other", FamilyMemberKind.OTHER: "other"}


def _value(field: str, new: str | None) -> object:
    if new is None:
        return None
    if field == "birth_date":
        return date.fromisoformat(new)
    return new


def data_change(*, request_id: str, dossier_id: str, kind: str, form: dict[str, Any],
                accepted_at: datetime, recorded_at: datetime) -> DataChange | None:
    """The change an accepted request of a data kind asks for (None for other kinds)."""
    persons: list[Person]
    common = {"change_id": request_id, "request_id": request_id, "dossier_id": dossier_id,
              "accepted_at": accepted_at, "recorded_at": recorded_at}
    if kind == FormKind.PERSONAL_DATA:
        record = PersonalDataRecord.model_validate(form)
        if record.person_before is None:
            return None
        person = record.person_before.model_copy(update={
            change.field: _value(change.field, change.new) for change in record.changes})
        return DataChange(kind=FormKind.PERSONAL_DATA, changes=record.changes,
                          record=DossierRecord(dossier_id=dossier_id, persons=[person]),
                          **common)
    if kind == FormKind.ADDRESS:
        address = AddressRecord.model_validate(form)
        new_address = Address(street=address.street, number=address.number, box=address.box,
                              postal_code=address.postal_code, city=address.municipality,
                              country="BE", valid_from=address.start_date)
        persons = [person.model_copy(update={"address": new_address})
                   for person in address.persons_before]
        return DataChange(kind=FormKind.ADDRESS,
                          record=DossierRecord(dossier_id=dossier_id, persons=persons), **common)
    if kind == FormKind.FAMILY_MEMBER:
        member = FamilyMemberRecord.model_validate(form)
        person = Person(
            person_id=f"{NEW_PERSON_PREFIX}{request_id}"[:64], role=ROLES[member.member_kind],
            last_name=member.last_name, first_name=member.first_name,
            birth_date=member.birth_date, national_number=member.national_number,
            language=(member.language or "nl"), email=member.email or None,
            phone=member.phone or None)
        return DataChange(kind=FormKind.FAMILY_MEMBER, new_person=True,
                          record=DossierRecord(dossier_id=dossier_id, persons=[person]),
                          **common)
    return None
