"""A dossier import is stored only when every reference inside it holds (pure rules)."""

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from libs.contracts.dossier import DossierImport, RiskObject
from libs.servicekit.errors import Invalid
from services.dossier.domain import (
    covered_risk_objects,
    import_problems,
    validate_import,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"


def exported(name: str = "dupont") -> dict[str, Any]:
    """A sample dossier as the broker's management system exports it, ready to be spoilt."""
    data: dict[str, Any] = json.loads((FIXTURES / f"dossier_{name}.json").read_text("utf-8"))
    return data


def problems_of(data: dict[str, Any]) -> dict[str, str]:
    return import_problems(DossierImport.model_validate(data))


@pytest.mark.parametrize("name", ["dupont", "peeters"])
def test_the_sample_dossiers_keep_every_import_rule(name: str) -> None:
    assert problems_of(exported(name)) == {}


def test_import_refuses_a_contract_covering_an_unknown_risk_object() -> None:
    data = exported()
    data["contracts"][1]["risk_object_ids"] = ["R-00417-2", "R9"]
    assert problems_of(data) == {"contracts[1].risk_object_ids[1]": "unknown risk object R9"}


def test_import_refuses_a_contract_listing_a_risk_object_twice() -> None:
    data = exported()
    data["contracts"][0]["risk_object_ids"] = ["R-00417-1", "R-00417-1"]
    assert problems_of(data) == {
        "contracts[0].risk_object_ids[1]": "risk object R-00417-1 is listed twice"
    }


def test_import_refuses_a_claim_on_an_unknown_contract() -> None:
    data = exported()
    data["claims"][0]["contract_id"] = "C-GONE"
    assert problems_of(data) == {"claims[0].contract_id": "unknown contract C-GONE"}


def test_import_refuses_a_claim_on_an_unknown_risk_object() -> None:
    data = exported()
    data["claims"][0]["risk_object_id"] = "R9"
    assert problems_of(data) == {"claims[0].risk_object_id": "unknown risk object R9"}


def test_a_claim_need_not_name_a_risk_object() -> None:
    data = exported()
    data["claims"][0]["risk_object_id"] = None
    assert problems_of(data) == {}


def test_import_refuses_an_invoice_of_an_unknown_contract() -> None:
    data = exported()
    data["invoices"][1]["contract_id"] = "C-GONE"
    assert problems_of(data) == {"invoices[1].contract_id": "unknown contract C-GONE"}


@pytest.mark.parametrize(
    ("list_name", "id_field", "noun"),
    [
        ("persons", "person_id", "person"),
        ("risk_objects", "risk_object_id", "risk object"),
        ("contracts", "contract_id", "contract"),
        ("claims", "claim_id", "claim"),
        ("invoices", "invoice_id", "invoice"),
    ],
)
def test_import_refuses_an_id_used_twice_in_the_same_list(
    list_name: str, id_field: str, noun: str
) -> None:
    data = exported()
    data[list_name].append(dict(data[list_name][0]))
    last = len(data[list_name]) - 1
    first_id = data[list_name][0][id_field]
    assert problems_of(data) == {
        f"{list_name}[{last}].{id_field}": f"duplicate {noun} id {first_id} (also {list_name}[0])"
    }


def test_the_same_id_in_two_different_lists_is_fine() -> None:
    data = exported()
    data["claims"][0]["claim_id"] = "X1"
    data["invoices"][0]["invoice_id"] = "X1"
    assert problems_of(data) == {}


@pytest.mark.parametrize("hostile", ["  ", "", "$where", "P\x001", "x" * 5000, "a:b", ".x"])
def test_the_contract_refuses_an_empty_or_malformed_object_id(hostile: str) -> None:
    data = exported()
    data["persons"][2]["person_id"] = hostile
    with pytest.raises(ValidationError, match=r"persons\.2\.person_id"):
        DossierImport.model_validate(data)


def test_import_refuses_a_guarantee_code_used_twice_in_one_contract() -> None:
    data = exported()
    data["contracts"][0]["guarantees"][1]["code"] = "BA-AUTO"
    assert problems_of(data) == {
        "contracts[0].guarantees[1].code": "duplicate guarantee id BA-AUTO (also "
        "contracts[0].guarantees[0])"
    }


def test_import_refuses_negative_money_wherever_it_is() -> None:
    data = exported()
    data["contracts"][2]["annual_premium_cents"] = -1
    data["contracts"][0]["guarantees"][1]["insured_amount_cents"] = -100
    data["contracts"][1]["guarantees"][0]["deductible_cents"] = -5
    data["invoices"][0]["amount_cents"] = -114532
    assert problems_of(data) == {
        "contracts[2].annual_premium_cents": "must not be negative",
        "contracts[0].guarantees[1].insured_amount_cents": "must not be negative",
        "contracts[1].guarantees[0].deductible_cents": "must not be negative",
        "invoices[0].amount_cents": "must not be negative",
    }


def test_zero_amounts_are_accepted() -> None:
    data = exported()
    data["invoices"][0]["amount_cents"] = 0
    data["contracts"][0]["guarantees"][1]["deductible_cents"] = 0
    assert problems_of(data) == {}


def test_import_refuses_a_contract_that_ends_before_it_starts() -> None:
    data = exported()
    data["contracts"][0]["start_date"] = "2021-03-15"
    data["contracts"][0]["end_date"] = "2021-03-14"
    assert problems_of(data) == {
        "contracts[0].end_date": "ends on 2021-03-14, before it starts on 2021-03-15"
    }


def test_a_contract_may_end_on_the_day_it_starts() -> None:
    data = exported()
    data["contracts"][0]["end_date"] = data["contracts"][0]["start_date"]
    assert problems_of(data) == {}


def test_import_refuses_a_dossier_without_a_policyholder() -> None:
    data = exported()
    data["persons"][0]["role"] = "partner"
    assert problems_of(data) == {
        "persons": "at least one person must have the role policyholder"
    }


def test_import_refuses_a_dossier_without_persons() -> None:
    data = exported("peeters")
    data["persons"] = []
    assert set(problems_of(data)) == {"persons"}


def test_every_broken_rule_is_named_at_once() -> None:
    data = exported()
    data["contracts"][1]["risk_object_ids"] = ["R9"]
    data["claims"][0]["contract_id"] = "C9"
    data["invoices"][0]["amount_cents"] = -1
    with pytest.raises(Invalid) as refused:
        validate_import(DossierImport.model_validate(data))
    assert refused.value.fields == {
        "contracts[1].risk_object_ids[0]": "unknown risk object R9",
        "claims[0].contract_id": "unknown contract C9",
        "invoices[0].amount_cents": "must not be negative",
    }
    assert "3 import rule(s)" in refused.value.detail


def test_a_valid_dossier_passes_validation() -> None:
    validate_import(DossierImport.model_validate(exported()))


def test_only_the_risk_objects_a_contract_covers_are_listed_with_the_contracts() -> None:
    data = exported()
    data["risk_objects"].append(
        {"risk_object_id": "R-SOLD", "kind": "vehicle", "description": "Sold car"}
    )
    dossier = DossierImport.model_validate(data)
    covered = covered_risk_objects(dossier.contracts, dossier.risk_objects)
    assert [r.risk_object_id for r in covered] == ["R-00417-1", "R-00417-2"]



@pytest.mark.parametrize("name", ["a\x00b", "$where", "a.b", "", "x" * 65, "1st"])
def test_a_field_name_the_database_cannot_store_is_refused_by_the_contract(name: str) -> None:
    # found by the API fuzzing: a NUL byte in a `details` key reached the store (a 500)
    with pytest.raises(ValidationError):
        RiskObject(risk_object_id="R-1", kind="vehicle", description="Auto", details={name: "x"})
    with pytest.raises(ValidationError):
        RiskObject(risk_object_id="R-1", kind="vehicle", description="Auto",
                   detail_labels={name: "x"})
    assert RiskObject(risk_object_id="R-1", kind="vehicle", description="Auto",
                      details={"power_kw": "110"}).details == {"power_kw": "110"}
