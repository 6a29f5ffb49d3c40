"""The office settings in the auth service: the office admin changes them (compare-and-set on
the version), the change is audited and its event stored in the outbox of the same write."""

import pytest

from libs.contracts import auth
from libs.contracts.caller import Caller, Role
from libs.contracts.office import (
    GET_OFFICE,
    UPDATE_OFFICE,
    GetOfficeRequest,
    OfficeColours,
    OfficeSettings,
    OfficeSettingsChanged,
    OfficeSettingsPublic,
    UpdateOfficeRequest,
)
from libs.servicekit.errors import Conflict, Forbidden, Invalid
from libs.servicekit.outbox import OUTBOX_FIELD
from services.auth.audit.store import AUDIT
from services.auth.main import AuthService
from services.auth.office.store import DOCUMENT_ID, OFFICE_SETTINGS
from tests.service.conftest import call_in_memory

ADMIN = Caller(user_id="admin-1", role=Role.ADMIN)
AGENT = Caller(user_id="agent-1", role=Role.AGENT)


async def update(service: AuthService, settings: OfficeSettings, *, caller: Caller = ADMIN,
                 expected: int | None = None) -> OfficeSettingsPublic:
    return await call_in_memory(service.runtime.broker, UPDATE_OFFICE, UpdateOfficeRequest(
        caller=caller, settings=settings, expected_version=expected,
        origin=auth.StaffOrigin(client_ip="192.0.2.7")))


async def current(service: AuthService) -> OfficeSettingsPublic:
    return await call_in_memory(service.runtime.broker, GET_OFFICE, GetOfficeRequest())


async def test_a_fresh_office_has_neutral_defaults(service: AuthService) -> None:
    settings = await current(service)
    assert (settings.version, settings.name) == (0, OfficeSettings().name)


async def test_the_admin_changes_the_settings_audited_and_announced(
    service: AuthService,
) -> None:
    stored = await update(service, OfficeSettings(
        name="Verzekeringen Peeters", company_number="BE 0403 170 701",
        colours=OfficeColours(primary="#004080")), expected=0)
    assert (stored.version, stored.company_number, stored.updated_by) == (
        1, "0403.170.701", "admin-1")
    assert (await current(service)).name == "Verzekeringen Peeters"

    second = await update(service, stored.model_copy(update={"phone": "+32 3 123 45 67"}),
                          expected=1)
    assert second.version == 2

    doc = await service.runtime.database[OFFICE_SETTINGS].find_one({"_id": DOCUMENT_ID})
    assert doc is not None
    events = [OfficeSettingsChanged.model_validate(entry["payload"])
              for entry in doc[OUTBOX_FIELD].values()
              if entry["routing_key"] == OfficeSettingsChanged.routing_key]
    assert sorted(event.settings.version for event in events) == [1, 2]
    assert max(events, key=lambda e: e.settings.version).settings.phone == "+32 3 123 45 67"

    entries = [entry async for entry in service.runtime.database[AUDIT].find(
        {"action": "office.update"})]
    assert {entry["actor_id"] for entry in entries} == {"admin-1"}
    assert {entry["details"]["fields"] for entry in entries} == {
        "name,colours.primary,company_number", "phone"}
    assert {entry["client_ip"] for entry in entries} == {"192.0.2.7"}


async def test_a_stale_form_gets_a_conflict_and_changes_nothing(service: AuthService) -> None:
    await update(service, OfficeSettings(name="First"), expected=0)
    await update(service, OfficeSettings(name="Second"), expected=1)
    with pytest.raises(Conflict) as refused:
        await update(service, OfficeSettings(name="Stale"), expected=1)
    assert refused.value.fields is not None and "expected_version" in refused.value.fields
    assert ((await current(service)).name, (await current(service)).version) == ("Second", 2)


async def test_an_agent_may_not_change_the_settings(service: AuthService) -> None:
    with pytest.raises(Forbidden):
        await update(service, OfficeSettings(name="Agent's office"), caller=AGENT)
    assert (await current(service)).version == 0
    assert await service.runtime.database[OFFICE_SETTINGS].count_documents({}) == 0


async def test_invalid_settings_are_refused_per_field(service: AuthService) -> None:
    with pytest.raises(Invalid) as refused:
        await update(service, OfficeSettings(colours=OfficeColours(accent="#ffcc00"),
                                             website="www.peeters.be"))
    fields = refused.value.fields or {}
    assert set(fields) == {"colours.accent", "website"}
    assert "1.51:1" in fields["colours.accent"]
    assert (await current(service)).version == 0
