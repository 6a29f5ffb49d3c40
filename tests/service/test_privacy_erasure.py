"""Privacy per service: auth's access log, account erasure and own-login deletion; the dossier
service's erasure saga; each service's erasure part on its own database."""

import functools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faststream.rabbit import TestRabbitBroker
from pymongo import AsyncMongoClient

from libs.contracts import privacy
from libs.contracts.caller import Caller, Role
from libs.contracts.privacy import ErasureCompleted, StaffRead, StaffReadsRecorded
from libs.servicekit.bus import EVENTS
from libs.servicekit.erasure import ERASURE_REPORTS, ErasureParticipant
from libs.servicekit.errors import Forbidden, Invalid, NotFound, ServiceError
from libs.servicekit.mongo import Document
from libs.servicekit.outbox import OUTBOX_FIELD
from libs.servicekit.retention import RetentionJob
from services.auth.accounts.store import USERS
from services.auth.main import AuthService
from services.auth.privacy.erasure import RETENTION_RULES
from services.dossier.config import DossierSettings
from services.dossier.main import DossierService
from services.dossier.main import build as build_dossier
from services.dossier.privacy_erasure import ERASURES, ErasureSaga
from services.notifier import privacy_erasure as notifier_part
from services.requests import privacy_erasure as requests_part
from services.signing import privacy_erasure as signing_part
from tests.service.conftest import call_in_memory
from tests.service.test_auth import ADMIN, AGENT, PASSWORD, activate, invite, log_in
from tests.service.test_dossier import exported, import_dossier

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def a_read(number: int, dossier_id: str | None, staff_id: str = "agent-1") -> StaffRead:
    return StaffRead(read_id=f"r{number}", at=AT + timedelta(seconds=number), staff_id=staff_id,
                     staff_name=f"Staff {staff_id}", route_kind="/admin/dossiers/{dossier_id}",
                     dossier_id=dossier_id, client_ip="192.0.2.7")


async def record(service: AuthService, *reads: StaffRead, event_id: str = "batch-1") -> None:
    await service.runtime.broker.publish(
        StaffReadsRecorded(event_id=event_id, reads=list(reads)).model_dump(mode="json"),
        exchange=EVENTS, routing_key=StaffReadsRecorded.routing_key)


async def reads_of(service: AuthService, caller: Caller, **query: Any) -> list[str]:
    log = await call_in_memory(service.runtime.broker, privacy.LIST_STAFF_READS,
                               privacy.StaffReadQuery(caller=caller, **query))
    return [read.read_id for read in log.reads]


# --- auth: the access log -----------------------------------------------------------------------

async def test_a_client_sees_the_reads_of_their_own_dossier_only(service: AuthService) -> None:
    await record(service, a_read(1, "D1"), a_read(2, "D2"), a_read(3, "D1", "agent-2"))
    await record(service, a_read(1, "D1"), event_id="batch-2")  # a redelivery: stored once
    client = Caller(user_id="u1", role=Role.CLIENT, dossier_ids=["D1"])
    assert await reads_of(service, client, dossier_id="D1") == ["r3", "r1"]
    with pytest.raises(NotFound):
        await reads_of(service, client, dossier_id="D2")
    with pytest.raises(NotFound):
        await reads_of(service, client)  # no dossier named: nothing of all dossiers


async def test_an_agent_sees_their_own_reads_and_the_admin_everyones(
    service: AuthService,
) -> None:
    await record(service, a_read(1, "D1"), a_read(2, "D2", "agent-2"), a_read(3, None))
    assert await reads_of(service, AGENT) == ["r3", "r1"]
    with pytest.raises(Forbidden):
        await reads_of(service, AGENT, staff_id="agent-2")
    assert await reads_of(service, ADMIN) == ["r3", "r2", "r1"]
    assert await reads_of(service, ADMIN, staff_id="agent-2") == ["r2"]


async def test_the_access_log_pages_from_newest_to_oldest(service: AuthService) -> None:
    await record(service, *(a_read(number, "D1") for number in range(5)))
    first = await call_in_memory(service.runtime.broker, privacy.LIST_STAFF_READS,
                                 privacy.StaffReadQuery(caller=ADMIN, limit=2))
    assert [read.read_id for read in first.reads] == ["r4", "r3"]
    assert await reads_of(service, ADMIN, limit=2, before=first.next_before) == ["r2", "r1"]


# --- auth: erasing accounts -------------------------------------------------------------------

async def an_active_client(service: AuthService, dossier_ids: tuple[str, ...] = ("D1",)
                           ) -> str:
    invitation, token = await invite(service, dossier_ids=dossier_ids)
    await activate(service, token)
    return invitation.user_id


async def test_a_client_deletes_their_login_with_the_password_and_the_office_is_told(
    service: AuthService,
) -> None:
    user_id = await an_active_client(service)
    caller = Caller(user_id=user_id, role=Role.CLIENT, dossier_ids=["D1"])
    with pytest.raises(Invalid):
        await call_in_memory(service.runtime.broker, privacy.DELETE_OWN_LOGIN,
                             privacy.OwnLoginDeletion(caller=caller, password="not it"))
    assert await service.runtime.database[USERS].find_one({"_id": user_id}) is not None
    await call_in_memory(service.runtime.broker, privacy.DELETE_OWN_LOGIN,
                         privacy.OwnLoginDeletion(caller=caller, password=PASSWORD))
    assert await service.runtime.database[USERS].find_one({"_id": user_id}) is None
    with pytest.raises(ServiceError):
        await log_in(service, "jan.peeters@example.be")
    notices = [doc async for doc in service.runtime.database["account_notices"].find({})]
    routing_keys = {entry["routing_key"] for doc in notices
                    for entry in doc.get(OUTBOX_FIELD, {}).values()}
    assert routing_keys == {privacy.LoginDeleted.routing_key, privacy.AccountErased.routing_key}


async def test_only_the_office_admin_erases_a_client_account(service: AuthService) -> None:
    user_id = await an_active_client(service)
    request = privacy.AccountErasureRequest(caller=AGENT, user_id=user_id)
    with pytest.raises(Forbidden):
        await call_in_memory(service.runtime.broker, privacy.ERASE_ACCOUNT, request)
    report = await call_in_memory(service.runtime.broker, privacy.ERASE_ACCOUNT,
                                  request.model_copy(update={"caller": ADMIN}))
    assert report.deleted["users"] == 1 and report.deleted["sessions_ended"] == 1
    assert [kept.collection for kept in report.kept] == ["audit_log"]
    with pytest.raises(NotFound):
        await call_in_memory(service.runtime.broker, privacy.ERASE_ACCOUNT,
                             request.model_copy(update={"caller": ADMIN}))


async def test_a_dossiers_erasure_takes_the_grant_and_erases_accounts_left_without_one(
    service: AuthService,
) -> None:
    only_d1 = await an_active_client(service)
    both = (await invite(service, "an@example.be", dossier_ids=("D1", "D2")))[0].user_id
    await service.runtime.broker.publish(
        privacy.ErasureRequested(erasure_id="e1", dossier_id="D1").model_dump(mode="json"),
        exchange=EVENTS, routing_key=privacy.ErasureRequested.routing_key)
    users = service.runtime.database[USERS]
    assert await users.find_one({"_id": only_d1}) is None
    kept = await users.find_one({"_id": both})
    assert kept is not None and kept["dossier_ids"] == ["D2"]
    report = await service.runtime.database[ERASURE_REPORTS].find_one({"_id": "e1"})
    assert report is not None and report["deleted"]["users"] == 1
    assert report["deleted"]["grants"] == 2


# --- the dossier service: the saga --------------------------------------------------------------

@pytest.fixture
async def dossier_service(mongo_url: str, database_name: str) -> AsyncIterator[DossierService]:
    built = build_dossier(DossierSettings(mongo_url=mongo_url, mongo_db=database_name))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def test_the_saga_refuses_agents_and_unknown_dossiers_and_finishes_on_six_reports(
    dossier_service: DossierService,
) -> None:
    broker = dossier_service.runtime.broker
    peeters = exported("peeters")
    await import_dossier(dossier_service, peeters)
    dossier_id = peeters["dossier_id"]
    asked = privacy.DossierErasureRequest(caller=AGENT, dossier_id=dossier_id)
    with pytest.raises(Forbidden):
        await call_in_memory(broker, privacy.REQUEST_DOSSIER_ERASURE, asked)
    with pytest.raises(NotFound):
        await call_in_memory(broker, privacy.REQUEST_DOSSIER_ERASURE, asked.model_copy(
            update={"caller": ADMIN, "dossier_id": "DOS-1999-00001"}))
    started = await call_in_memory(broker, privacy.REQUEST_DOSSIER_ERASURE,
                                   asked.model_copy(update={"caller": ADMIN}))
    again = await call_in_memory(broker, privacy.REQUEST_DOSSIER_ERASURE,
                                 asked.model_copy(update={"caller": ADMIN}))
    assert again.erasure_id == started.erasure_id
    query = privacy.DossierErasureQuery(caller=ADMIN, dossier_id=dossier_id)
    # The dossier service's own part ran when the request was relayed (in memory: now).
    await dossier_service.relay.relay_pending()
    for service_name in ("auth", "documents", "requests", "signing", "notifier"):
        status = await call_in_memory(broker, privacy.GET_DOSSIER_ERASURE, query)
        assert status.state is privacy.ErasureState.RUNNING
        await broker.publish(ErasureCompleted(
            erasure_id=started.erasure_id, service=service_name, deleted={"x": 1}
        ).model_dump(mode="json"), exchange=EVENTS, routing_key=ErasureCompleted.routing_key)
        await dossier_service.relay.relay_pending()
    finished = await call_in_memory(broker, privacy.GET_DOSSIER_ERASURE, query)
    assert finished.state is privacy.ErasureState.FINISHED
    by_service = {entry.service: entry for entry in finished.services}
    assert by_service["dossier"].deleted["dossiers"] == 1
    assert by_service["dossier"].deleted["persons"] == len(peeters["persons"])
    assert [kept.collection for kept in by_service["dossier"].kept] == [ERASURES]


async def test_a_saga_without_a_report_for_a_while_is_asked_again(
    dossier_service: DossierService,
) -> None:
    await import_dossier(dossier_service, exported("dupont"))
    started = await call_in_memory(
        dossier_service.runtime.broker, privacy.REQUEST_DOSSIER_ERASURE,
        privacy.DossierErasureRequest(caller=ADMIN, dossier_id="DOS-2019-00417"))
    erasures = dossier_service.runtime.database[ERASURES]
    await erasures.update_one({"erasure_id": started.erasure_id}, {"$set": {
        "last_requested_at": AT, OUTBOX_FIELD: {}, "outbox_pending": 0}})
    saga = ErasureSaga(dossier_service.runtime.database, notify=lambda: None,
                       resend_after=timedelta(seconds=60))
    assert await saga.resend_pending() == 1
    doc = await erasures.find_one({"erasure_id": started.erasure_id})
    assert doc is not None
    [entry] = doc[OUTBOX_FIELD].values()
    assert entry["payload"]["erasure_id"] == started.erasure_id
    assert await saga.resend_pending() == 0  # asked just now


# --- requests, signing, notifier: their part on their own database -----------------------------

@pytest.fixture
async def database(mongo_client: AsyncMongoClient[Document], database_name: str
                   ) -> AsyncIterator[Any]:
    yield mongo_client[database_name]
    await mongo_client.drop_database(database_name)


async def test_the_requests_part_erases_the_dossiers_requests_drafts_and_sheets(
    database: Any,
) -> None:
    for dossier_id in ("D1", "D2"):
        await database["requests"].insert_one({"_id": f"q-{dossier_id}", "dossier_id": dossier_id})
        await database["form_drafts"].insert_one({"_id": f"u1|{dossier_id}|claim"})
        await database["client_sheets"].insert_one({"_id": f"s-{dossier_id}",
                                                    "dossier_id": dossier_id})
    await database["client_sheet_questionnaires"].insert_one({"_id": "1", "questions": []})
    participant = ErasureParticipant(database, "requests", requests_part.ERASURE_RULES)
    deleted, kept = await participant.erase("D1")
    assert (deleted["requests"], deleted["form_drafts"], deleted["client_sheets"]) == (1, 1, 1)
    assert kept == []
    assert [doc["_id"] async for doc in database["requests"].find({})] == ["q-D2"]
    assert await database["client_sheet_questionnaires"].count_documents({}) == 1


async def test_the_signing_part_keeps_the_hash_chained_evidence_and_says_why(
    database: Any,
) -> None:
    await database["signature_requests"].insert_one({"_id": "sr1", "dossier_id": "D1"})
    await database["audit_records"].insert_many([
        {"_id": "sr1:1", "signature_request_id": "sr1"},
        {"_id": "sr1:2", "signature_request_id": "sr1"}])
    participant = ErasureParticipant(database, "signing", signing_part.erasure_rules(database))
    deleted, kept = await participant.erase("D1")
    assert deleted["signature_requests"] == 1
    assert [(item.collection, item.count) for item in kept] == [("audit_records", 2)]
    assert "eIDAS" in kept[0].reason
    assert await database["audit_records"].count_documents({}) == 2


async def test_the_notifier_part_erases_mails_that_name_the_dossier(database: Any) -> None:
    await database["mails"].insert_many([
        {"_id": "m1", "dossier_id": "D1", "message": "..."},
        {"_id": "m2", "slot": "open:D1:office@x.be"},
        {"_id": "m3", "dossier_id": "D10", "message": "D10"}])
    participant = ErasureParticipant(database, "notifier", notifier_part.ERASURE_RULES)
    deleted, _ = await participant.erase("D1")
    assert deleted["mails"] == 2
    assert [doc["_id"] async for doc in database["mails"].find({})] == ["m3"]


# --- retention ----------------------------------------------------------------------------------

async def test_the_retention_job_removes_what_outlived_its_period_and_reports_it(
    database: Any,
) -> None:
    await database["registrations"].insert_many([
        {"_id": "old-refused", "status": "refused", "created_at": AT - timedelta(days=40)},
        {"_id": "new-refused", "status": "refused", "created_at": AT - timedelta(days=10)},
        {"_id": "old-pending", "status": "pending", "created_at": AT - timedelta(days=400)}])
    await database["staff_reads"].insert_many([
        {"_id": "r-old", "at": AT - timedelta(days=800)},
        {"_id": "r-new", "at": AT - timedelta(days=5)}])
    job = RetentionJob(database, "auth", RETENTION_RULES, {"access_log": 1000},
                       clock=lambda: AT)
    removed = await job.apply()
    assert removed["refused_registrations"] == 1
    assert removed["access_log"] == 0  # the office keeps it 1,000 days
    assert sorted([doc["_id"] async for doc in database["registrations"].find({})]) == [
        "new-refused", "old-pending"]
    shorter = RetentionJob(database, "auth", RETENTION_RULES, {}, clock=lambda: AT)
    assert (await shorter.apply())["access_log"] == 1
    assert [doc["_id"] async for doc in database["staff_reads"].find({})] == ["r-new"]


async def test_the_short_lived_counters_and_nonces_are_removed_by_retention_not_only_a_ttl(
    database: Any,
) -> None:
    """What the services write for minutes (mobile nonces, SMS codes sent, log-in throttles,
    mail quotas, SMS rate windows) goes a day after it served, by the leased job."""
    from services.auth.mail_quota.quota import MailQuota
    from services.auth.mail_quota.store import MAIL_QUOTA, MailQuotaStore
    from services.auth.sessions.lockout.store import THROTTLES, ThrottleRecords
    from services.notifier.sms_rules import RateLimit
    from services.notifier.sms_store import SMS_RATE_WINDOWS, SmsStore
    from services.signing.mobile import Challenge
    from services.signing.store import MOBILE_CHALLENGES, MOBILE_CODES_SENT, MobileStore

    old, recent = AT - timedelta(days=3), AT - timedelta(hours=1)
    mobile = MobileStore(database)
    for name, moment in (("old", old), ("new", recent)):
        await mobile.add_challenge(Challenge(
            nonce=f"nonce-{name}", enrolment_id="e1", signature_request_id="sr1",
            person_id="p1", document_sha256="0" * 64, issued_at=moment,
            expires_at=moment + timedelta(minutes=2), used=name == "old"))
        await mobile.code_sent(f"user-{name}", moment)
        await ThrottleRecords(database).record_failure(f"ip:{name}", moment, 5)
        await MailQuota(MailQuotaStore(database), limit=3, window=timedelta(hours=1),
                        clock=functools.partial(lambda at: at, moment)
                        ).allow("reset", f"{name}@x.be")
    sms = SmsStore(database)
    await sms.reserve("+32470000001", RateLimit(limit=5, window=timedelta(hours=1)),
                      AT - timedelta(days=4))
    await sms.reserve("+32470000002", RateLimit(limit=5, window=timedelta(hours=1)), recent)

    removed: dict[str, int] = {}
    for service, rules in (("signing", signing_part.RETENTION_RULES),
                           ("auth", RETENTION_RULES), ("notifier", notifier_part.RETENTION_RULES)):
        removed |= await RetentionJob(database, service, rules, {}, clock=lambda: AT).apply()
    assert {name: removed[name] for name in (
        "mobile_challenges", "mobile_codes_sent", "login_throttles", "mail_quota",
        "sms_rate_windows")} == {"mobile_challenges": 1, "mobile_codes_sent": 1,
                                 "login_throttles": 1, "mail_quota": 1, "sms_rate_windows": 1}
    assert [doc["_id"] async for doc in database[MOBILE_CHALLENGES].find({})] == ["nonce-new"]
    assert [doc["user_id"] async for doc in database[MOBILE_CODES_SENT].find({})] == ["user-new"]
    assert [doc["_id"] async for doc in database[THROTTLES].find({})] == ["ip:new"]
    assert await database[MAIL_QUOTA].count_documents({}) == 1
    assert [doc["_id"] async for doc in database[SMS_RATE_WINDOWS].find({})] == ["+32470000002"]
