"""The import CLI reads the office's files and cuts big records into parts (no I/O here)."""

from pathlib import Path

from services.dossier.cli import _shifted, read_records, record_parts, split_unreadable
from services.dossier.store import list_key, list_range


def test_a_big_record_goes_in_parts_in_reference_order() -> None:
    record = {"dossier_id": "D", "name": "N",
              "risk_objects": [{"risk_object_id": f"R{i}"} for i in range(3)],
              "contracts": [{"contract_id": f"C{i}"} for i in range(5)],
              "invoices": [{"invoice_id": "F1"}]}
    parts = list(record_parts(record, size=2))
    assert [(sorted(k for k in part if k not in ("dossier_id", "name")), name, offset)
            for part, name, offset in parts] == [
        (["risk_objects"], "risk_objects", 0), (["risk_objects"], "risk_objects", 2),
        (["contracts"], "contracts", 0), (["contracts"], "contracts", 2),
        (["contracts"], "contracts", 4),
        (["invoices"], None, 0),
    ]
    assert all(part["name"] == "N" for part, _, _ in parts)


def test_a_small_record_goes_whole() -> None:
    record = {"dossier_id": "D", "persons": [], "contracts": [{"contract_id": "C1"}]}
    assert list(record_parts(record, size=500)) == [(record, None, 0)]


def test_a_refusal_in_a_part_names_its_place_in_the_whole_record() -> None:
    assert _shifted("claims[3].contract_id", "claims", 500) == "claims[503].contract_id"
    assert _shifted("contracts[3]", "claims", 500) == "contracts[3]"


def test_unreadable_objects_are_refused_one_by_one_with_their_field() -> None:
    record = {"dossier_id": "D", "invoices": [
        {"invoice_id": "F1", "invoice_number": "1", "contract_id": "C", "due_date": "2026-01-01",
         "amount_cents": 5},
        {"invoice_id": "F2", "invoice_number": "2", "contract_id": "C", "due_date": "31/02/2026",
         "amount_cents": 5}]}
    cleaned, refused = split_unreadable(record)
    assert [i["invoice_id"] for i in cleaned["invoices"]] == ["F1"]
    assert [(r.path, r.object_id, list(r.reasons)) for r in refused] == [
        ("invoices[1]", "F2", ["invoices[1].due_date"])]


def test_records_are_read_from_json_lines_arrays_and_objects(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"dossier_id": "A"}\n\nnot json\n', encoding="utf-8")
    (tmp_path / "b.json").write_text('[{"dossier_id": "B1"}, {"dossier_id": "B2"}]',
                                     encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    read = [(Path(r.location).name, r.error is None) for r in read_records([tmp_path])]
    assert read == [("a.jsonl:1", True), ("a.jsonl:3", False), ("b.json[0]", True),
                    ("b.json[1]", True)]


def test_list_keys_sort_like_their_values_and_never_tie() -> None:
    assert list_key("D", None, "x") < list_key("D", "2024-01-01", "x") < list_key(
        "D", "2025-01-01", "a")
    assert list_key("D", 9, "x") < list_key("D", 10, "x")
    assert list_key("D", "AG", "C1") != list_key("D", "AG", "C2")


def test_a_dossiers_list_keys_lie_in_its_range_and_no_other_dossiers_do() -> None:
    low, high = list_range("DOS-1")
    for value in (None, "", "zzz", "\uffff", 10**12, "2024-01-01"):
        assert low < list_key("DOS-1", value, "S1") < high
    for other in ("DOS-10", "DOS-", "DOS-0", "DOS-1.2", "DOS-1_", "DOS-2"):
        assert not low < list_key(other, "a", "S1") < high, other


def test_list_keys_never_begin_like_a_date() -> None:
    # nx-27017 compares a query string that begins like a date with SQLite's datetime().
    for dossier_id in ("2024-01-01", "01-01-2024", "DOS-1"):
        for value in ("2024-01-01", "01/02/2024", 42, None):
            assert not list_key(dossier_id, value, "2024-01-01").lstrip()[0].isdigit()
        assert not list_range(dossier_id)[0][0].isdigit()
