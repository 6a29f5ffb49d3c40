"""The client sheet through the gateway (manual 4.5), as the mobile app and the office use it:
prefilled from the dossier, refused per question, confirmed once per Idempotency-Key, pending
in "Mijn aanvragen", listed for the office; the office publishes a new questionnaire version."""

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.local.seed_demo import bearer, import_dossier
from tests.system.stack import SystemStack, fixture_dossier, new_client, staff_log_in

pytestmark = pytest.mark.system


def own_dossier(system_stack: SystemStack, gateway: httpx.Client) -> str:
    """A copy of the Dupont dossier under a number of its own: no other test's sheet in it."""
    dossier = fixture_dossier("dupont")
    dossier["dossier_id"] = f"DOS-2098-{uuid.uuid4().int % 100000:05d}"
    import_dossier(gateway, staff_log_in(system_stack, gateway), dossier)
    return str(dossier["dossier_id"])


SHIPPED_QUESTIONNAIRE = Path(__file__).resolve().parents[2] / (
    "services/requests/client_sheet/questionnaire_v1.json")


def publish_the_shipped_questionnaire(system_stack: SystemStack, gateway: httpx.Client) -> None:
    """The office's questionnaire is global: other tests (the API fuzzing among them) publish
    versions of their own; this test's prefill is the shipped questionnaire's."""
    published = gateway.post(
        "/admin/api/v1/client-sheet/questionnaire",
        headers=bearer(staff_log_in(system_stack, gateway)),
        json=json.loads(SHIPPED_QUESTIONNAIRE.read_text(encoding="utf-8")))
    assert published.status_code == 201, published.text


def answers_from(form: dict[str, Any]) -> dict[str, Any]:
    """The prefill completed as a client would: every required question answered."""
    answers = dict(form["prefill"])
    for section in form["questionnaire"]["sections"]:
        for question in section["questions"]:
            if not question["required"] or question["question_id"] in answers:
                continue
            answers[question["question_id"]] = {
                "text": "Leraar", "yes_no": False, "number": 0, "date": "1990-01-01",
                "single_choice": question["options"][0]["value"] if question["options"] else "",
                "multiple_choice": [o["value"] for o in question["options"][:2]],
            }[question["type"]]
    return answers


def test_a_client_confirms_the_sheet_once_and_the_office_sees_it(
    system_stack: SystemStack, gateway: httpx.Client,
) -> None:
    publish_the_shipped_questionnaire(system_stack, gateway)
    dossier_id = own_dossier(system_stack, gateway)
    client = bearer(new_client(system_stack, gateway, "Pieter Fiche", [dossier_id]).log_in(
        gateway))
    sheet_url = f"/api/v1/dossiers/{dossier_id}/client-sheet"

    opened = gateway.get(sheet_url, headers=client)
    assert opened.status_code == 200, opened.text
    form = opened.json()
    assert form["due"]["due"] is True and form["last_sheet"] is None
    assert {key: form["prefill"].get(key) for key in (
        "birth_date", "email", "home_status", "vehicle_count")} == {
        "birth_date": "1981-04-12", "email": "pieter.dupont@example.be",
        "home_status": "owner", "vehicle_count": 1}
    version = form["questionnaire"]["version"]

    refused = gateway.post(sheet_url, headers=client, json={
        "questionnaire_version": version, "answers": {"profession": "", "vehicle_count": "x"}})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    fields = refused.json()["errors"]
    assert fields["profession"] == "required" and fields["vehicle_count"] == "must be a number"

    answers = answers_from(form)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = gateway.post(sheet_url, headers={**client, **key},
                         json={"questionnaire_version": version, "answers": answers})
    assert first.status_code == 201, first.text
    again = gateway.post(sheet_url, headers={**client, **key},
                         json={"questionnaire_version": version, "answers": answers})
    assert again.status_code == 200 and again.json() == first.json()
    sheet = first.json()

    listed = gateway.get(f"/api/v1/dossiers/{dossier_id}/requests", headers=client).json()
    assert [(r["request_id"], r["kind"], r["status"]) for r in listed["requests"]] == [
        (sheet["request_id"], "client_sheet", "pending")]
    assert gateway.get(sheet_url, headers=client).json()["due"]["due"] is False

    staff = bearer(staff_log_in(system_stack, gateway))
    history = gateway.get(f"/admin/api/v1/dossiers/{dossier_id}/client-sheets", headers=staff)
    assert history.status_code == 200
    assert history.json()["sheets"] == [sheet]
    overview = gateway.get("/admin/api/v1/client-sheets?state=confirmed", headers=staff).json()
    assert dossier_id in [line["dossier_id"] for line in overview["dossiers"]]
    assert gateway.get("/admin/api/v1/dossiers/DOS-1999-00001/client-sheets",
                       headers=staff).status_code == 404
    assert gateway.get(f"/admin/api/v1/dossiers/{dossier_id}/client-sheets",
                       headers=client).status_code == 403


def test_another_client_s_sheet_is_not_found_and_a_stale_version_is_a_conflict(
    system_stack: SystemStack, gateway: httpx.Client,
) -> None:
    dossier_id = own_dossier(system_stack, gateway)
    owner = bearer(new_client(system_stack, gateway, "Sofie Fiche", [dossier_id]).log_in(
        gateway))
    stranger_dossier = own_dossier(system_stack, gateway)
    stranger = bearer(new_client(system_stack, gateway, "Luc Fiche",
                                 [stranger_dossier]).log_in(gateway))
    sheet_url = f"/api/v1/dossiers/{dossier_id}/client-sheet"
    assert gateway.get(sheet_url, headers=stranger).status_code == 404
    assert gateway.post(sheet_url, headers=stranger, json={
        "questionnaire_version": 1, "answers": {}}).status_code == 404

    form = gateway.get(sheet_url, headers=owner).json()
    stale = gateway.post(sheet_url, headers=owner, json={
        "questionnaire_version": form["questionnaire"]["version"] + 1000,
        "answers": answers_from(form)})
    assert stale.status_code == 409
    assert gateway.get(f"/api/v1/dossiers/{dossier_id}/requests",
                       headers=owner).json()["requests"] == []


def test_the_office_publishes_a_new_questionnaire_version_and_a_broken_one_is_refused(
    system_stack: SystemStack, gateway: httpx.Client,
) -> None:
    staff = bearer(staff_log_in(system_stack, gateway))
    url = "/admin/api/v1/client-sheet/questionnaire"
    current = gateway.get(url, headers=staff).json()

    broken = {"sections": [{**current["sections"][0], "questions": [
        {**current["sections"][0]["questions"][0], "type": "single_choice", "options": []}]}]}
    refused = gateway.post(url, headers=staff, json=broken)
    assert refused.status_code == 422
    assert refused.json()["errors"] == {
        "sections[0].questions[0].options": "a choice needs at least two options"}
    assert gateway.post(url, headers=staff, json={"sections": "none"}).status_code == 422

    published = gateway.post(url, headers=staff, json={"sections": current["sections"]})
    assert published.status_code == 201, published.text
    assert published.json()["version"] == current["version"] + 1
    assert gateway.get(url, headers=staff).json()["version"] == current["version"] + 1
