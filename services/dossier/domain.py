"""Rules a dossier import must keep before anything is stored (pure: no I/O).

The broker's management system exports a whole dossier; MyBroker stores it only when every
reference inside it points to an item of the same export, so a client never opens a contract
whose risk object or a claim whose contract is missing.
"""

from collections.abc import Iterable
from datetime import date

from libs.contracts.dossier import (
    Claim,
    Contract,
    CoverLine,
    DossierImport,
    Invoice,
    Person,
    RiskObject,
)
from libs.servicekit.errors import Invalid
from services.dossier.import_plan import KIND_ORDER, LIST_NAMES, field_problems

POLICYHOLDER = "policyholder"
NEGATIVE_MONEY = "must not be negative"

Problems = dict[str, str]
"""Broken rules keyed by the path of the offending field, e.g. `contracts[1].end_date`."""


def _unique_ids(problems: Problems, list_name: str, id_field: str, ids: Iterable[str],
                noun: str) -> set[str]:
    """The ids of one list; repeated ids are reported at their own path (the contract refuses
    empty and malformed ones: `libs.contracts.ids`)."""
    first_seen: dict[str, int] = {}
    for index, item_id in enumerate(ids):
        path = f"{list_name}[{index}].{id_field}"
        if item_id in first_seen:
            problems[path] = (
                f"duplicate {noun} id {item_id} (also {list_name}[{first_seen[item_id]}])"
            )
        else:
            first_seen[item_id] = index
    return set(first_seen)


def _check_money(problems: Problems, path: str, cents: int | None) -> None:
    if cents is not None and cents < 0:
        problems[path] = NEGATIVE_MONEY


def _check_contracts(problems: Problems, contracts: list[Contract],
                     risk_object_ids: set[str]) -> None:
    for index, contract in enumerate(contracts):
        path = f"contracts[{index}]"
        covered: set[str] = set()
        for position, risk_object_id in enumerate(contract.risk_object_ids):
            where = f"{path}.risk_object_ids[{position}]"
            if risk_object_id not in risk_object_ids:
                problems[where] = f"unknown risk object {risk_object_id}"
            elif risk_object_id in covered:
                problems[where] = f"risk object {risk_object_id} is listed twice"
            covered.add(risk_object_id)
        _check_money(problems, f"{path}.annual_premium_cents", contract.annual_premium_cents)
        if contract.end_date is not None and contract.end_date < contract.start_date:
            problems[f"{path}.end_date"] = (
                f"ends on {contract.end_date.isoformat()}, "
                f"before it starts on {contract.start_date.isoformat()}"
            )
        # A guarantee's code identifies it within its contract ("ids unique within their list").
        _unique_ids(problems, f"{path}.guarantees", "code",
                    (guarantee.code for guarantee in contract.guarantees), "guarantee")
        for position, guarantee in enumerate(contract.guarantees):
            where = f"{path}.guarantees[{position}]"
            _check_money(problems, f"{where}.insured_amount_cents", guarantee.insured_amount_cents)
            _check_money(problems, f"{where}.deductible_cents", guarantee.deductible_cents)


def _check_claims(problems: Problems, claims: list[Claim], contract_ids: set[str],
                  risk_object_ids: set[str]) -> None:
    for index, claim in enumerate(claims):
        if claim.contract_id not in contract_ids:
            problems[f"claims[{index}].contract_id"] = f"unknown contract {claim.contract_id}"
        if claim.risk_object_id is not None and claim.risk_object_id not in risk_object_ids:
            problems[f"claims[{index}].risk_object_id"] = (
                f"unknown risk object {claim.risk_object_id}"
            )


def _check_invoices(problems: Problems, invoices: list[Invoice], contract_ids: set[str]) -> None:
    for index, invoice in enumerate(invoices):
        if invoice.contract_id not in contract_ids:
            problems[f"invoices[{index}].contract_id"] = f"unknown contract {invoice.contract_id}"
        _check_money(problems, f"invoices[{index}].amount_cents", invoice.amount_cents)


def _check_policyholder(problems: Problems, persons: list[Person]) -> None:
    if not any(person.role == POLICYHOLDER for person in persons):
        problems["persons"] = f"at least one person must have the role {POLICYHOLDER}"


def import_problems(dossier: DossierImport) -> Problems:
    """Every rule `dossier` breaks, keyed by the path of the offending field; empty when valid."""
    problems: Problems = {}
    _unique_ids(problems, "persons", "person_id",
                (person.person_id for person in dossier.persons), "person")
    risk_object_ids = _unique_ids(
        problems, "risk_objects", "risk_object_id",
        (risk_object.risk_object_id for risk_object in dossier.risk_objects), "risk object")
    contract_ids = _unique_ids(problems, "contracts", "contract_id",
                               (contract.contract_id for contract in dossier.contracts), "contract")
    _unique_ids(problems, "claims", "claim_id", (claim.claim_id for claim in dossier.claims),
                "claim")
    _unique_ids(problems, "invoices", "invoice_id",
                (invoice.invoice_id for invoice in dossier.invoices), "invoice")
    _check_contracts(problems, dossier.contracts, risk_object_ids)
    _check_claims(problems, dossier.claims, contract_ids, risk_object_ids)
    _check_invoices(problems, dossier.invoices, contract_ids)
    _check_policyholder(problems, dossier.persons)
    # The field rules of each object (plates, VINs, postal codes, national numbers...).
    for kind in KIND_ORDER:
        for index, item in enumerate(getattr(dossier, LIST_NAMES[kind])):
            for path, reason in field_problems(kind, item, f"{LIST_NAMES[kind]}[{index}]").items():
                problems.setdefault(path, reason)
    return problems


def validate_import(dossier: DossierImport) -> None:
    """Refuse a dossier that breaks any import rule, naming every bad field at once."""
    problems = import_problems(dossier)
    if problems:
        raise Invalid(
            f"The dossier {dossier.dossier_id} breaks {len(problems)} import rule(s); "
            "nothing was stored.",
            fields=problems,
        )


def covered_risk_objects(contracts: list[Contract],
                         risk_objects: list[RiskObject]) -> list[RiskObject]:
    """The risk objects at least one of `contracts` covers, in the dossier's order."""
    covered = {risk_object_id for contract in contracts
               for risk_object_id in contract.risk_object_ids}
    return [risk_object for risk_object in risk_objects
            if risk_object.risk_object_id in covered]



ENDED = "ended"


def cover_lines(risk_object_id: str, contracts: list[Contract]) -> list[CoverLine]:
    """What covers a risk object, contract by contract, guarantees grouped included/optional.

    Ended contracts cover nothing any more and are left out of the summary.
    """
    return [
        CoverLine(
            contract_id=contract.contract_id, policy_number=contract.policy_number,
            insurer=contract.insurer, product=contract.product, status=contract.status,
            renewal_date=contract.renewal_date,
            included=[g.label for g in contract.guarantees if not g.optional],
            optional=[g.label for g in contract.guarantees if g.optional],
        )
        for contract in contracts
        if risk_object_id in contract.risk_object_ids and contract.status != ENDED
    ]


def next_renewal(covers: list[CoverLine]) -> date | None:
    """The earliest renewal date among the covering contracts, if any has one."""
    dates = [cover.renewal_date for cover in covers if cover.renewal_date is not None]
    return min(dates) if dates else None


def is_overdue(invoice: Invoice, today: date) -> bool:
    """An invoice not paid by its due date (or marked overdue by the broker's system)."""
    return invoice.status == "overdue" or (invoice.status == "open" and invoice.due_date < today)
