"""An import record is judged object by object before anything is written (pure rules)."""

import json
from pathlib import Path
from typing import Any

from libs.contracts.dossier import DossierRecord
from services.dossier.import_plan import RecordPlan, StoredState, plan_record

FIXTURES = Path(__file__).parents[1] / "fixtures"


def exported(name: str = "dupont") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"dossier_{name}.json").read_text("utf-8"))
    return data


def plan(data: dict[str, Any], stored: StoredState | None = None, *,
         remove_missing: bool = False) -> RecordPlan:
    return plan_record(DossierRecord.model_validate(data), stored or StoredState(),
                       remove_missing=remove_missing)


def accepted_ids(result: RecordPlan, kind: str, id_field: str) -> list[str]:
    return [getattr(item, id_field) for item in result.accepted[kind]]  # type: ignore[index]


def stored_dupont() -> StoredState:
    """The Dupont dossier as it is stored after its first import."""
    stored = StoredState()
    stored.ids["person"] = {"P-00417-1", "P-00417-2", "P-00417-3"}
    stored.ids["risk_object"] = {"R-00417-1", "R-00417-2"}
    stored.ids["contract"] = {"C-00417-AUTO", "C-00417-WONING", "C-00417-BAF"}
    stored.ids["claim"] = {"S-00417-1"}
    stored.ids["invoice"] = {"F-00417-1", "F-00417-2"}
    stored.contract_risk_objects = {"C-00417-AUTO": {"R-00417-1"},
                                    "C-00417-WONING": {"R-00417-2"}, "C-00417-BAF": set()}
    stored.claim_contract = {"S-00417-1": "C-00417-AUTO"}
    stored.claim_risk_objects = {"S-00417-1": {"R-00417-1"}}
    stored.invoice_contract = {"F-00417-1": "C-00417-AUTO", "F-00417-2": "C-00417-WONING"}
    return stored


def test_a_valid_record_is_accepted_whole() -> None:
    result = plan(exported())
    assert result.rejections == []
    assert accepted_ids(result, "contract", "contract_id") == [
        "C-00417-AUTO", "C-00417-WONING", "C-00417-BAF"]


def test_a_vehicle_with_a_foreign_plate_is_refused_and_so_is_what_depends_on_it() -> None:
    data = exported()
    data["risk_objects"][0]["vehicle"]["license_plate"] = "AB-123-CD"
    result = plan(data)
    assert [(r.path, r.object_id) for r in result.rejections] == [
        ("risk_objects[0]", "R-00417-1"),
        ("contracts[0]", "C-00417-AUTO"),
        ("claims[0]", "S-00417-1"),
        ("invoices[0]", "F-00417-1"),
    ]
    assert "risk_objects[0].vehicle.license_plate" in result.rejections[0].reasons
    assert result.rejections[1].reasons == {
        "contracts[0].risk_object_ids[0]": "unknown risk object R-00417-1"}
    # The home, its contract and its invoice still go in.
    assert accepted_ids(result, "contract", "contract_id") == ["C-00417-WONING", "C-00417-BAF"]
    assert accepted_ids(result, "invoice", "invoice_id") == ["F-00417-2"]


def test_a_wrong_vin_check_digit_and_a_bad_national_number_are_named() -> None:
    data = exported()
    data["risk_objects"][0]["vehicle"]["vin"] = "1M8GDM9A1KP042788"
    data["persons"][2]["national_number"] = "14.06.03-088.91"
    reasons = {path: reason for r in plan(data).rejections for path, reason in r.reasons.items()}
    assert "position 9 should be X" in reasons["risk_objects[0].vehicle.vin"]
    assert "national register number" in reasons["persons[2].national_number"]


def test_a_claim_may_concern_several_risk_objects_but_only_known_ones() -> None:
    data = exported()
    data["claims"][0]["risk_object_ids"] = ["R-00417-2"]
    assert plan(data).rejections == []
    data["claims"][0]["risk_object_ids"] = ["R-9"]
    assert plan(data).rejections[0].reasons == {
        "claims[0].risk_object_ids": "unknown risk object R-9"}


def test_the_same_id_twice_in_a_record_refuses_the_second() -> None:
    data = exported()
    data["invoices"][1]["invoice_id"] = "F-00417-1"
    result = plan(data)
    assert [(r.path, r.object_id) for r in result.rejections] == [("invoices[1]", "F-00417-1")]


def test_a_partial_record_may_refer_to_what_is_already_stored() -> None:
    record = {"dossier_id": "DOS-2019-00417", "invoices": [
        {"invoice_id": "F-00417-3", "invoice_number": "VF-2026-000001",
         "contract_id": "C-00417-BAF", "due_date": "2026-07-01", "amount_cents": 9850}]}
    result = plan(record, stored_dupont())
    assert result.rejections == []
    assert accepted_ids(result, "invoice", "invoice_id") == ["F-00417-3"]
    assert all(removals == [] for removals in result.removals.values())


def test_remove_missing_removes_only_from_the_lists_the_record_holds() -> None:
    data = exported()
    data["contracts"] = [c for c in data["contracts"] if c["contract_id"] != "C-00417-BAF"]
    del data["claims"]
    result = plan(data, stored_dupont(), remove_missing=True)
    assert result.removals["contract"] == ["C-00417-BAF"]
    assert result.removals["claim"] == []  # claims were not part of this record


def test_an_object_still_used_is_not_removed() -> None:
    record = {"dossier_id": "DOS-2019-00417", "contracts": []}
    result = plan(record, stored_dupont(), remove_missing=True)
    # The car and home contracts still have a claim or invoices; the family policy has none.
    assert result.removals["contract"] == ["C-00417-BAF"]
    assert {r.object_id for r in result.rejections} == {"C-00417-AUTO", "C-00417-WONING"}
    assert "still used by claim S-00417-1" in result.rejections[0].reasons["contracts"] \
        or "still used by claim S-00417-1" in result.rejections[1].reasons["contracts"]


def test_a_refused_new_version_keeps_the_stored_one_usable() -> None:
    data = exported()
    data["risk_objects"][0]["vehicle"]["license_plate"] = "nonsense"
    result = plan(data, stored_dupont(), remove_missing=True)
    assert [r.object_id for r in result.rejections] == ["R-00417-1"]
    assert "C-00417-AUTO" in accepted_ids(result, "contract", "contract_id")
    assert result.removals["risk_object"] == []


def test_a_person_still_insured_by_a_risk_object_is_not_removed() -> None:
    stored = stored_dupont()
    stored.ids["risk_object"].add("R-00417-3")
    stored.risk_object_person = {"R-00417-3": "P-00417-3"}
    data = exported()
    data["persons"] = [p for p in data["persons"] if p["person_id"] != "P-00417-3"]
    del data["risk_objects"]  # the stored hospitalisation cover of the child stays
    result = plan(data, stored, remove_missing=True)
    assert result.removals["person"] == []
    [refusal] = result.rejections
    assert refusal.object_id == "P-00417-3"
    assert refusal.reasons["persons"] == "not removed: still used by risk object R-00417-3"


def test_a_person_is_removed_with_the_risk_object_that_insured_them() -> None:
    stored = stored_dupont()
    stored.ids["risk_object"].add("R-00417-3")
    stored.risk_object_person = {"R-00417-3": "P-00417-3"}
    data = exported()
    data["persons"] = [p for p in data["persons"] if p["person_id"] != "P-00417-3"]
    result = plan(data, stored, remove_missing=True)  # R-00417-3 is not in the export either
    assert result.rejections == []
    assert result.removals["risk_object"] == ["R-00417-3"]
    assert result.removals["person"] == ["P-00417-3"]
