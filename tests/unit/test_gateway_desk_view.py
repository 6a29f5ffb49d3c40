"""How the request desk words a form: every field the client sent is shown, readably."""

from datetime import date

from gateway.web.desk_view import allowed_moves, form_sections, request_title


def same(text: str) -> str:
    return text


def iso(value: date) -> str:
    return value.isoformat()


def test_a_change_of_address_names_the_household_members_who_move() -> None:
    [section] = form_sections("address", {
        "start_date": "2026-12-01", "street": "Kerkstraat", "number": "12", "box": "",
        "postal_code": "2000", "municipality": "Antwerpen", "person_ids": ["p1", "p2"],
        "person_names": {"p1": "An Peeters", "p2": "Jan Peeters"}}, same, iso)
    rows = {row.label: row.value for row in section.rows}
    assert rows["Start date of the new address"] == "2026-12-01"
    assert rows["Box"] == "—"
    assert rows["Household members who move"] == "An Peeters, Jan Peeters"


def test_a_field_the_desk_does_not_know_is_still_shown_under_its_own_name() -> None:
    [section] = form_sections("family_member", {
        "member_kind": "child", "last_name": "Peeters", "first_name": "Lotte",
        "birth_date": "2020-05-01", "school_name": "De Regenboog"}, same, iso)
    rows = [(row.label, row.value) for row in section.rows]
    assert rows[0] == ("Kind of family member", "Child")
    assert ("School name", "De Regenboog") in rows


def test_a_client_sheet_shows_each_answer_under_its_question() -> None:
    [section] = form_sections("client_sheet", {
        "sheet_id": "s1", "questionnaire_version": 3, "answers": {
            "risk_profile": "defensive", "owns_home": True, "needs": ["car", "home"]}},
        same, iso)
    assert section.title == "Client sheet (questionnaire version 3)"
    assert [(r.label, r.value) for r in section.rows] == [
        ("Risk profile", "defensive"), ("Owns home", "Yes"), ("Needs", "car, home")]


def test_a_form_of_a_kind_the_desk_does_not_know_is_shown_field_by_field() -> None:
    [section] = form_sections("pension_plan", {"amount": 1200}, same, iso)
    assert (section.title, [(r.label, r.value) for r in section.rows]) == (
        "pension_plan", [("Amount", "1200")])


def test_a_message_has_no_form_and_a_form_is_titled_by_its_kind() -> None:
    assert form_sections("message", None, same, iso) == []
    assert request_title("claim", "", same) == "Claim declaration"
    assert request_title("message", "Groene kaart", same) == "Groene kaart"


def test_the_desk_offers_only_the_moves_the_requests_rules_allow() -> None:
    assert allowed_moves("pending") == {"in_progress", "accepted", "refused", "closed"}
    assert allowed_moves("accepted") == {"closed"}
    assert allowed_moves("closed") == frozenset()


def test_a_claim_file_that_never_arrived_is_named_without_a_link() -> None:
    sections = form_sections("claim", {
        "loss_date": "2026-11-28", "loss_time": "17:45:00", "description": "Storm",
        "attachments": [{"document_id": None, "filename": "dak.jpg", "size": 0},
                        {"document_id": "d1", "filename": "pv.pdf", "description": "PV"}]},
        same, iso)
    [files] = [section for section in sections if section.files]
    assert [(f.document_id, f.name, f.description) for f in files.files] == [
        ("", "dak.jpg", ""), ("d1", "pv.pdf", "PV")]
