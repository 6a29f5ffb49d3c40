"""What an import of one dossier record will do, decided before anything is written (pure).

Each object is judged on its own: its fields (plates, VINs, postal codes, national numbers,
money, dates) and its references (a contract's risk objects, a claim's contract...). A refused
object is reported with its reasons and the rest of the record still goes in; an object whose
reference points to a refused object is refused too, so nothing stored ever points nowhere.
Removals (`remove_missing`) of an object that a surviving object still uses are refused as well.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from libs.contracts.dossier import (
    Address,
    Claim,
    Contract,
    DossierRecord,
    Invoice,
    ObjectKind,
    Person,
    Rejection,
    RiskObject,
)
from services.dossier import identifiers

Problems = dict[str, str]
"""Broken rules keyed by the path of the offending field, e.g. `contracts[1].end_date`."""

LIST_NAMES: dict[ObjectKind, str] = {
    "person": "persons", "risk_object": "risk_objects", "contract": "contracts",
    "claim": "claims", "invoice": "invoices",
}
ID_FIELDS: dict[ObjectKind, str] = {
    "person": "person_id", "risk_object": "risk_object_id", "contract": "contract_id",
    "claim": "claim_id", "invoice": "invoice_id",
}
# Referenced kinds come first: an object is judged once what it points to is known.
KIND_ORDER: tuple[ObjectKind, ...] = ("person", "risk_object", "contract", "claim", "invoice")


def object_id(kind: ObjectKind, item: BaseModel) -> str:
    """The broker's id of an object of `kind`."""
    value: str = getattr(item, ID_FIELDS[kind])
    return value


def claim_risk_object_ids(claim: Claim) -> list[str]:
    """Every risk object a claim concerns (the single legacy field and the list), once each."""
    ids = ([claim.risk_object_id] if claim.risk_object_id else []) + claim.risk_object_ids
    return list(dict.fromkeys(ids))


def _money(problems: Problems, path: str, cents: int | None) -> None:
    reason = identifiers.money_problem(cents)
    if reason:
        problems[path] = reason


def _currency(problems: Problems, path: str, currency: str) -> None:
    reason = identifiers.currency_problem(currency)
    if reason:
        problems[path] = reason


def _address(problems: Problems, path: str, address: Address | None) -> None:
    if address is None:
        return
    reason = identifiers.postal_code_problem(address.postal_code, address.country)
    if reason:
        problems[f"{path}.postal_code"] = reason
    if address.valid_from and address.valid_until and address.valid_until < address.valid_from:
        problems[f"{path}.valid_until"] = "before valid_from"


def person_problems(person: Person, path: str) -> Problems:
    """Field rules of a person."""
    problems: Problems = {}
    if person.national_number:
        reason = identifiers.national_number_problem(person.national_number)
        if reason:
            problems[f"{path}.national_number"] = reason
    _address(problems, f"{path}.address", person.address)
    return problems


def risk_object_problems(risk_object: RiskObject, path: str) -> Problems:
    """Field rules of a risk object (kind-specific)."""
    problems: Problems = {}
    vehicle = risk_object.vehicle
    if vehicle is not None:
        if vehicle.license_plate:
            reason = identifiers.plate_problem(vehicle.license_plate)
            if reason:
                problems[f"{path}.vehicle.license_plate"] = reason
        if vehicle.vin:
            reason = identifiers.vin_problem(vehicle.vin)
            if reason:
                problems[f"{path}.vehicle.vin"] = reason
    if risk_object.building is not None:
        _address(problems, f"{path}.building.address", risk_object.building.address)
    return problems


def contract_problems(contract: Contract, path: str) -> Problems:
    """Field rules of a contract and its guarantees."""
    problems: Problems = {}
    _money(problems, f"{path}.annual_premium_cents", contract.annual_premium_cents)
    _currency(problems, f"{path}.currency", contract.currency)
    if contract.end_date is not None and contract.end_date < contract.start_date:
        problems[f"{path}.end_date"] = (
            f"ends on {contract.end_date.isoformat()}, "
            f"before it starts on {contract.start_date.isoformat()}")
    if contract.renewal_date is not None and contract.renewal_date < contract.start_date:
        problems[f"{path}.renewal_date"] = "before the start date"
    seen: set[str] = set()
    for position, guarantee in enumerate(contract.guarantees):
        where = f"{path}.guarantees[{position}]"
        if guarantee.code in seen:
            problems[f"{where}.code"] = f"duplicate guarantee code {guarantee.code}"
        seen.add(guarantee.code)
        _money(problems, f"{where}.insured_amount_cents", guarantee.insured_amount_cents)
        _money(problems, f"{where}.deductible_cents", guarantee.deductible_cents)
    return problems


def claim_problems(claim: Claim, path: str) -> Problems:
    """Field rules of a claim."""
    problems: Problems = {}
    _money(problems, f"{path}.claimed_amount_cents", claim.claimed_amount_cents)
    _money(problems, f"{path}.paid_amount_cents", claim.paid_amount_cents)
    _currency(problems, f"{path}.currency", claim.currency)
    return problems


def invoice_problems(invoice: Invoice, path: str) -> Problems:
    """Field rules of an invoice."""
    problems: Problems = {}
    _money(problems, f"{path}.amount_cents", invoice.amount_cents)
    _currency(problems, f"{path}.currency", invoice.currency)
    if invoice.invoice_date and invoice.invoice_date > invoice.due_date:
        problems[f"{path}.due_date"] = "before the invoice date"
    return problems


def field_problems(kind: ObjectKind, item: BaseModel, path: str) -> Problems:
    """The field rules `item` of `kind` breaks, keyed by path; empty when it is fine."""
    if isinstance(item, Person):
        return person_problems(item, path)
    if isinstance(item, RiskObject):
        return risk_object_problems(item, path)
    if isinstance(item, Contract):
        return contract_problems(item, path)
    if isinstance(item, Claim):
        return claim_problems(item, path)
    if isinstance(item, Invoice):
        return invoice_problems(item, path)
    raise TypeError(f"not a dossier object: {kind}")


@dataclass
class StoredState:
    """What the dossier holds now: present ids per kind and who uses whom."""

    ids: dict[ObjectKind, set[str]] = field(
        default_factory=lambda: {kind: set() for kind in KIND_ORDER})
    contract_risk_objects: dict[str, set[str]] = field(default_factory=dict)
    claim_contract: dict[str, str] = field(default_factory=dict)
    claim_risk_objects: dict[str, set[str]] = field(default_factory=dict)
    invoice_contract: dict[str, str] = field(default_factory=dict)
    risk_object_person: dict[str, str] = field(default_factory=dict)  # the insured person


@dataclass
class RecordPlan:
    """The objects to write, the ids to remove, and the refused objects with their reasons."""

    accepted: dict[ObjectKind, list[BaseModel]] = field(default_factory=dict)
    removals: dict[ObjectKind, list[str]] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)


def _items(record: DossierRecord, kind: ObjectKind) -> Sequence[BaseModel] | None:
    items: Sequence[BaseModel] | None = getattr(record, LIST_NAMES[kind])
    return items


def _reference_problems(kind: ObjectKind, item: BaseModel, path: str,
                        available: dict[ObjectKind, set[str]]) -> Problems:
    problems: Problems = {}
    if isinstance(item, Contract):
        for position, risk_object_id in enumerate(item.risk_object_ids):
            if risk_object_id not in available["risk_object"]:
                problems[f"{path}.risk_object_ids[{position}]"] = (
                    f"unknown risk object {risk_object_id}")
        if len(set(item.risk_object_ids)) != len(item.risk_object_ids):
            problems[f"{path}.risk_object_ids"] = "a risk object is listed twice"
    elif isinstance(item, Claim):
        if item.contract_id not in available["contract"]:
            problems[f"{path}.contract_id"] = f"unknown contract {item.contract_id}"
        for risk_object_id in claim_risk_object_ids(item):
            if risk_object_id not in available["risk_object"]:
                problems[f"{path}.risk_object_ids"] = f"unknown risk object {risk_object_id}"
    elif isinstance(item, Invoice):
        if item.contract_id not in available["contract"]:
            problems[f"{path}.contract_id"] = f"unknown contract {item.contract_id}"
    elif (isinstance(item, RiskObject) and item.insured_person
          and item.insured_person.person_id
          and item.insured_person.person_id not in available["person"]):
        problems[f"{path}.insured_person.person_id"] = (
            f"unknown person {item.insured_person.person_id}")
    return problems


def _insured_person_id(risk_object: RiskObject) -> str | None:
    return risk_object.insured_person.person_id if risk_object.insured_person else None


def _users(kind: ObjectKind, object_id: str, stored: StoredState,
           surviving: dict[ObjectKind, dict[str, BaseModel | None]]) -> list[str]:
    """Surviving objects that refer to the object `object_id` of `kind` (blocks its removal)."""
    users: list[str] = []
    for claim_id, claim in surviving["claim"].items():
        contract_id = claim.contract_id if isinstance(claim, Claim) else \
            stored.claim_contract.get(claim_id)
        risk_ids = set(claim_risk_object_ids(claim)) if isinstance(claim, Claim) else \
            stored.claim_risk_objects.get(claim_id, set())
        if (kind == "contract" and contract_id == object_id) or (
                kind == "risk_object" and object_id in risk_ids):
            users.append(f"claim {claim_id}")
    if kind == "contract":
        for invoice_id, invoice in surviving["invoice"].items():
            contract_id = invoice.contract_id if isinstance(invoice, Invoice) else \
                stored.invoice_contract.get(invoice_id)
            if contract_id == object_id:
                users.append(f"invoice {invoice_id}")
    if kind == "person":
        for risk_object_id, risk_object in surviving["risk_object"].items():
            person_id = _insured_person_id(risk_object) if isinstance(risk_object, RiskObject) \
                else stored.risk_object_person.get(risk_object_id)
            if person_id == object_id:
                users.append(f"risk object {risk_object_id}")
    if kind == "risk_object":
        for contract_id, contract in surviving["contract"].items():
            risk_ids = set(contract.risk_object_ids) if isinstance(contract, Contract) else \
                stored.contract_risk_objects.get(contract_id, set())
            if object_id in risk_ids:
                users.append(f"contract {contract_id}")
    return users


def plan_record(record: DossierRecord, stored: StoredState, *, remove_missing: bool) -> RecordPlan:
    """Decide, object by object, what importing `record` into the stored dossier does."""
    plan = RecordPlan()
    available: dict[ObjectKind, set[str]] = {}
    mentioned: dict[ObjectKind, set[str]] = {}
    for kind in KIND_ORDER:
        items = _items(record, kind)
        mentioned[kind] = set()
        accepted: list[BaseModel] = []
        for index, item in enumerate(items or ()):
            path = f"{LIST_NAMES[kind]}[{index}]"
            item_id = object_id(kind, item)
            problems: Problems = {}
            if item_id in mentioned[kind]:
                problems[f"{path}.{ID_FIELDS[kind]}"] = f"duplicate id {item_id} in this record"
            mentioned[kind].add(item_id)
            if not problems:
                problems = field_problems(kind, item, path)
            if not problems:
                problems = _reference_problems(kind, item, path, available)
            if problems:
                plan.rejections.append(Rejection(path=path, object_id=item_id, reasons=problems))
            else:
                accepted.append(item)
        removable = stored.ids[kind] - mentioned[kind] if remove_missing and items is not None \
            else set()
        # A refused object that is already stored keeps its stored version (so stays usable).
        available[kind] = (stored.ids[kind] - removable) | {object_id(kind, i) for i in accepted}
        plan.accepted[kind] = accepted
        plan.removals[kind] = sorted(removable)
    _keep_used_removals(plan, stored)
    return plan


def _keep_used_removals(plan: RecordPlan, stored: StoredState) -> None:
    """Refuse removals of objects still used by a surviving object (users decided first)."""
    surviving: dict[ObjectKind, dict[str, BaseModel | None]] = {}
    for kind in KIND_ORDER:
        kept: dict[str, BaseModel | None] = dict.fromkeys(
            stored.ids[kind] - set(plan.removals[kind]))
        kept.update({object_id(kind, item): item for item in plan.accepted[kind]})
        surviving[kind] = kept
    # Users before what they use: a risk object kept keeps its insured person.
    for kind in ("contract", "risk_object", "person"):
        still_removed: list[str] = []
        for removed_id in plan.removals[kind]:
            users = _users(kind, removed_id, stored, surviving)
            if users:
                plan.rejections.append(Rejection(
                    path=LIST_NAMES[kind], object_id=removed_id,
                    reasons={LIST_NAMES[kind]: "not removed: still used by " + ", ".join(users)}))
                surviving[kind][removed_id] = None
            else:
                still_removed.append(removed_id)
        plan.removals[kind] = still_removed
