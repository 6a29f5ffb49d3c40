"""A client of one dossier sends forged page cursors to every list of the insurance file (issue
10, item 1: a cursor whose key was "k" listed every dossier's contracts).

Four dossiers: DOS-A and DOS-C sort before and after the caller's DOS-B, DOS-B1 begins like it.
The caller is a client granted DOS-B only. For every list (API and page), every sort and both
orders, each cursor an attacker can write - bounds outside the dossier, another dossier's valid
cursor, another list's or sort's or order's, one signed with another key, an edited one,
garbage, a huge page number - is refused (API: 422 problem+json; page: the first page with the
"outdated link" notice), and no answer ever holds a row of another dossier. Every object of a
dossier carries its dossier's marker ("[DOS-A]") in the texts a list shows, so a foreign row is
seen in a JSON answer and in a page alike.
"""

import base64
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from faststream.rabbit import TestRabbitBroker

from libs.contracts import dossier
from libs.contracts.caller import Role
from libs.contracts.rpc import RpcMethod
from libs.servicekit.cursor_signing import CursorSigner
from services.dossier.config import DossierSettings
from services.dossier.main import DossierService, build
from services.dossier.store import COLLECTIONS, SORT_FIELDS, list_key
from tests.security.conftest import AttackedGateway, gateway_on
from tests.service.conftest import call_in_memory
from tests.service.test_dossier_import import AGENT, exported, upsert

CALLER = "DOS-B"
OTHERS = ("DOS-A", "DOS-B1", "DOS-C")
SECRET = "the dossier service's cursor secret, 32+ characters"
NOTICE = "Die paginalink is niet meer geldig"  # the first page "with a notice" (Dutch: default)


def marked(dossier_id: str) -> dict[str, Any]:
    """The Dupont export as dossier `dossier_id`: its own object ids, its marker in every text
    a list shows, and four claims (lists of two rows or more: every list has a second page)."""
    tag = dossier_id.removeprefix("DOS-")
    record: dict[str, Any] = json.loads(json.dumps(exported()).replace("-00417-", f"-{tag}-"))
    record["dossier_id"] = dossier_id
    mark = f" [{dossier_id}]"
    for risk_object in record["risk_objects"]:
        risk_object["description"] += mark
    for contract in record["contracts"]:
        contract["policy_number"] += mark
    first = record["claims"][0]
    record["claims"] = [{**first, "claim_id": f"S-{tag}-{n}", "claim_number": f"SCH-{n}{mark}",
                         "occurred_on": f"2024-0{n}-1{n}", "description": f"Schade {n}{mark}"}
                        for n in range(1, 5)]
    for invoice in record["invoices"]:
        invoice["invoice_number"] += mark
    return record


@pytest.fixture(scope="module")
async def office(mongo_url: str) -> AsyncIterator[DossierService]:
    """The dossier service (cursors signed with SECRET) with the four dossiers imported."""
    name = f"test_security_{uuid.uuid4().hex[:8]}"
    built = build(DossierSettings(mongo_url=mongo_url, mongo_db=name,
                                  cursor_secret=SECRET))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        for dossier_id in (CALLER, *OTHERS):
            await upsert(built, marked(dossier_id))
        yield built
    await built.runtime.database.client.drop_database(name)


@pytest.fixture
async def gateway(office: DossierService, tmp_path: Path) -> AsyncIterator[AttackedGateway]:
    async with gateway_on(office.runtime.broker, "dossier", tmp_path) as attacked:
        yield attacked


# (list kind, RPC method, API path, page path)
LISTS: list[tuple[dossier.ObjectKind, RpcMethod[dossier.ListQuery, Any], str, str]] = [
    ("risk_object", dossier.LIST_RISK_OBJECTS, "risk-objects", "/risks"),
    ("contract", dossier.LIST_CONTRACT_PAGE, "contract-pages", "/contracts"),
    ("claim", dossier.LIST_CLAIMS, "claims", "/claims"),
    ("invoice", dossier.LIST_INVOICES, "invoices", "/invoices"),
]
CASES = [(kind, method, api, page, sort, descending)
         for kind, method, api, page in LISTS
         for sort in SORT_FIELDS[kind] for descending in (False, True)]
CASE_IDS = [f"{kind}-{sort}-{'desc' if descending else 'asc'}"
            for kind, _, _, _, sort, descending in CASES]


def foreign_markers(text: str) -> list[str]:
    """The other dossiers whose rows `text` shows."""
    return [other for other in OTHERS if f"[{other}]" in text]


def unsigned(**fields: Any) -> str:
    """A cursor as the former, unsigned version read it: base64 of the JSON."""
    data = json.dumps(fields).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def edited(text: str, **fields: Any) -> str:
    """A real cursor with its JSON changed and its tag kept."""
    body, _, tag = text.partition(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    changed = base64.urlsafe_b64encode(json.dumps({**data, **fields}).encode()).decode()
    return f"{changed.rstrip('=')}.{tag}"


def signed_elsewhere(payload: dict[str, Any], dossier_id: str) -> str:
    """A cursor of the right form for `dossier_id`, signed with a key the attacker chose."""
    signer = CursorSigner(b"an attacker's own key, 32 bytes!")
    order = "desc" if payload["descending"] else "asc"
    return signer.sign(json.dumps(payload).encode(), "dossier-list", dossier_id,
                       payload["kind"], payload["sort"], order)


async def cursors_of(office: DossierService, method: RpcMethod[dossier.ListQuery, Any],
                     dossier_id: str, sort: str, descending: bool) -> list[str]:
    """Valid cursors of one list of `dossier_id` (next, previous and last), as staff get them."""
    query = dossier.ListQuery(caller=AGENT, dossier_id=dossier_id, sort=sort,
                              descending=descending, page_size=1)
    first = await call_in_memory(office.runtime.broker, method, query)
    second = await call_in_memory(office.runtime.broker, method,
                                  query.model_copy(update={"cursor": first.next_cursor}))
    return [first.next_cursor, first.last_cursor, second.previous_cursor]


FORGED: dict[tuple[str, str, bool], dict[str, str]] = {}  # made once for the API and the pages


async def forged_cursors(office: DossierService, kind: dossier.ObjectKind,
                         method: RpcMethod[dossier.ListQuery, Any], sort: str,
                         descending: bool) -> dict[str, str]:
    """Every cursor an attacker on DOS-B can send to this list, by what it is."""
    if (kind, sort, descending) not in FORGED:
        FORGED[kind, sort, descending] = await _forge(office, kind, method, sort, descending)
    return FORGED[kind, sort, descending]


async def _forge(office: DossierService, kind: dossier.ObjectKind,
                 method: RpcMethod[dossier.ListQuery, Any], sort: str, descending: bool
                 ) -> dict[str, str]:
    same = {"v": 1, "kind": kind, "sort": sort, "descending": descending}
    bounds = {"k": "after", "k\uffff": "before", "kDOS-A\x1d": "after", "kDOS-C\x1d": "before",
              "kDOS-B1\x1d": "before", "kDOS-B\x1e": "after", "": "after", "\x00": "after"}
    forged: dict[str, str] = {}
    for key, toward in bounds.items():
        for way in ("after", "before", toward):
            payload = {**same, "toward": way, "key": key, "page": 2}
            forged[f"unsigned {way} {key!r}"] = unsigned(**payload)
            forged[f"other key {way} {key!r}"] = signed_elsewhere(payload, CALLER)
    forged["unsigned huge page"] = unsigned(**same, toward="last", key=None, page=10**30)
    forged["unsigned negative page"] = unsigned(**same, toward="last", key=None, page=-1)
    for other in OTHERS:
        for number, text in enumerate(await cursors_of(office, method, other, sort, descending)):
            forged[f"{other}'s cursor {number}"] = text
    own = await cursors_of(office, method, CALLER, sort, descending)
    forged["own cursor, key edited to 'k'"] = edited(own[0], key="k")
    forged["own cursor, key edited to 'k\\uffff'"] = edited(own[0], key="k\uffff",
                                                           toward="before")
    forged["own cursor, huge page"] = edited(own[1], page=10**30)
    forged["own cursor, other order"] = (await cursors_of(
        office, method, CALLER, sort, not descending))[0]
    for other_sort in SORT_FIELDS[kind]:
        if other_sort != sort:
            forged[f"own cursor of sort {other_sort}"] = (await cursors_of(
                office, method, CALLER, other_sort, descending))[0]
    for other_kind, other_method, _, _ in LISTS:
        if other_kind != kind:
            forged[f"own {other_kind} cursor"] = (await cursors_of(
                office, other_method, CALLER, "position" if "position" in SORT_FIELDS[
                    other_kind] else SORT_FIELDS[other_kind][0], descending))[0]
    forged.update({"garbage": "not-a-cursor", "dots": "...", "empty": "", "long": "A" * 3999,
                   "signature only": "." + own[0].partition(".")[2],
                   "body only": own[0].partition(".")[0]})
    return forged


def query_of(sort: str, descending: bool, cursor: str) -> dict[str, str]:
    return {"sort": sort, "order": "desc" if descending else "asc", "cursor": cursor}


@pytest.mark.parametrize(("kind", "method", "api", "page", "sort", "descending"), CASES,
                         ids=CASE_IDS)
async def test_a_forged_cursor_is_a_422_in_the_api_and_shows_no_other_dossier(
    office: DossierService, gateway: AttackedGateway, kind: dossier.ObjectKind,
    method: RpcMethod[dossier.ListQuery, Any], api: str, page: str, sort: str,
    descending: bool,
) -> None:
    client = gateway.bearer(dossiers=(CALLER,))
    for what, cursor in (await forged_cursors(office, kind, method, sort, descending)).items():
        answer = await gateway.http.get(
            f"/api/v1/dossiers/{CALLER}/{api}", headers=client,
            params={**query_of(sort, descending, cursor), "page_size": "100"})
        assert foreign_markers(answer.text) == [], what
        assert answer.status_code == 422, (what, answer.text[:300])
        assert answer.headers["content-type"] == "application/problem+json", what


@pytest.mark.parametrize(("kind", "method", "api", "page", "sort", "descending"), CASES,
                         ids=CASE_IDS)
async def test_a_forged_cursor_in_a_page_link_shows_the_first_page_and_no_other_dossier(
    office: DossierService, gateway: AttackedGateway, kind: dossier.ObjectKind,
    method: RpcMethod[dossier.ListQuery, Any], api: str, page: str, sort: str,
    descending: bool,
) -> None:
    browser = gateway.browser(dossiers=(CALLER,))
    for what, cursor in (await forged_cursors(office, kind, method, sort, descending)).items():
        shown = await gateway.http.get(page, headers=browser,
                                       params=query_of(sort, descending, cursor))
        assert foreign_markers(shown.text) == [], what
        assert shown.status_code == 200, (what, shown.text[:300])
        assert NOTICE in shown.text and f"[{CALLER}]" in shown.text, what


@pytest.mark.parametrize(("kind", "method", "api", "page", "sort", "descending"), CASES,
                         ids=CASE_IDS)
async def test_walking_a_list_by_its_own_cursors_shows_exactly_the_callers_rows(
    gateway: AttackedGateway, kind: dossier.ObjectKind,
    method: RpcMethod[dossier.ListQuery, Any], api: str, page: str, sort: str,
    descending: bool,
) -> None:
    client = gateway.bearer(dossiers=(CALLER,))
    path = f"/api/v1/dossiers/{CALLER}/{api}"
    answer = await gateway.http.get(path, headers=client, params={
        "sort": sort, "order": "desc" if descending else "asc", "page_size": "1"})
    rows: list[str] = []
    while True:
        assert answer.status_code == 200, answer.text
        assert foreign_markers(answer.text) == []
        body = answer.json()
        rows += [json.dumps(item) for item in body["items"]]
        if body["links"]["next"] is None:
            break
        answer = await gateway.http.get(body["links"]["next"], headers=client)
    assert len(rows) == body["total"] > 1
    last = await gateway.http.get(body["links"]["last"], headers=client)
    assert last.status_code == 200 and foreign_markers(last.text) == []
    previous = await gateway.http.get(last.json()["links"]["previous"], headers=client)
    assert previous.status_code == 200 and foreign_markers(previous.text) == []


@pytest.mark.parametrize(("kind", "method", "api", "page", "sort", "descending"), CASES,
                         ids=CASE_IDS)
async def test_even_a_cursor_signed_with_the_real_key_reads_only_the_callers_dossier(
    office: DossierService, kind: dossier.ObjectKind,
    method: RpcMethod[dossier.ListQuery, Any], api: str, page: str, sort: str,
    descending: bool,
) -> None:
    """Should the key leak, or a bug sign a foreign key: the store still clamps every range to
    the caller's dossier on both ends, and drops any row of another dossier."""
    from services.dossier.cursors import PageCursor, PageCursors

    cursors = PageCursors(CursorSigner(SECRET.encode()))
    bounds = ["k", "k\uffff", "kDOS-A\x1d", "kDOS-C\x1d", "kDOS-B1\x1d", "kDOS-B\x1d",
              "kDOS-B\x1e", "kDOS-B\x1c", "j", "l", "\x00", "\uffff"]
    client = dossier.ListQuery(caller=AGENT.model_copy(update={
        "role": Role.CLIENT, "dossier_ids": [CALLER]}), dossier_id=CALLER, sort=sort,
        descending=descending, page_size=100)
    for key in bounds:
        for toward in ("after", "before"):
            cursor = cursors.encode(PageCursor(kind=kind, sort=sort, descending=descending,
                                               toward=toward, key=key, page=2), CALLER)
            listed = await call_in_memory(office.runtime.broker, method,
                                          client.model_copy(update={"cursor": cursor}))
            assert foreign_markers(listed.model_dump_json()) == [], (key, toward)


async def test_a_row_of_another_dossier_stored_in_the_callers_range_is_never_shown(
    office: DossierService, gateway: AttackedGateway,
) -> None:
    """Defence in depth: whatever a range or an `_id` matches, the store returns no object
    whose `dossier_id` is another (here a DOS-A contract stored with DOS-B's keys and id)."""
    contracts = office.runtime.database[COLLECTIONS["contract"]]
    stolen = await contracts.find_one({"dossier_id": "DOS-A"})
    assert stolen is not None
    intruder = {**stolen, "_id": f"{CALLER}:C-INTRUDER", "contract_id": "C-INTRUDER"}
    for field in (name for name in stolen if name.startswith("s_")):
        intruder[field] = list_key(CALLER, "", "C-INTRUDER")
    await contracts.insert_one(intruder)
    try:
        client = gateway.bearer(dossiers=(CALLER,))
        for sort in SORT_FIELDS["contract"]:
            for order in ("asc", "desc"):
                listed = await gateway.http.get(
                    f"/api/v1/dossiers/{CALLER}/contract-pages", headers=client,
                    params={"sort": sort, "order": order, "page_size": "100"})
                assert listed.status_code == 200
                assert foreign_markers(listed.text) == [], (sort, order)
                assert len(listed.json()["items"]) == 3
        detail = await gateway.http.get(
            f"/api/v1/dossiers/{CALLER}/contracts/C-INTRUDER", headers=client)
        assert detail.status_code == 404 and foreign_markers(detail.text) == []
    finally:
        await contracts.delete_one({"_id": intruder["_id"]})


async def test_a_refused_cursor_is_logged_as_tampering_with_the_caller_and_never_the_secret(
    office: DossierService, gateway: AttackedGateway,
) -> None:
    forged = unsigned(v=1, kind="contract", sort="position", descending=False, toward="after",
                      key="k", page=2)
    with structlog.testing.capture_logs() as logged:
        answer = await gateway.http.get(
            f"/api/v1/dossiers/{CALLER}/contract-pages", params={"cursor": forged},
            headers=gateway.bearer(user_id="u-mallory", dossiers=(CALLER,)))
    assert answer.status_code == 422
    [warning] = [entry for entry in logged if entry.get("alert") == "cursor_tampering"]
    assert warning["log_level"] == "warning"
    assert (warning["user_id"], warning["role"], warning["dossier_id"], warning["list"]) == (
        "u-mallory", "client", CALLER, "contract")
    assert not any(SECRET in str(entry) or forged in str(entry) for entry in logged)
