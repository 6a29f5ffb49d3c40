"""A client of one dossier sends forged page cursors to the documents list: the API and the
"My documents" page, on the real documents service behind the gateway app.

Three dossiers: the caller's D1, D2 and D10 (which begins like D1). A cursor becomes a bound of
the list's key range, so the service signs it for its dossier and filters: another dossier's
valid cursor, one of other filters or of another list, one signed with another key, an edited
one, a raw key (unsigned), garbage - each is refused (API: 422 problem+json naming `cursor`;
page: the first page with the "outdated link" notice), and no answer ever shows a document of
another dossier. Every document's title carries its dossier's marker ("[D2]").
"""

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from faststream.rabbit import TestRabbitBroker

from libs.contracts import documents, paging
from libs.contracts.caller import Caller, Role
from libs.servicekit.cursor_signing import CursorSigner
from libs.servicekit.errors import Invalid
from libs.servicekit.keyset import ListCursors
from services.documents.config import DocumentsSettings
from services.documents.main import DocumentsService, build
from services.documents.store import LIST_NAME
from tests.security.conftest import AttackedGateway, gateway_on
from tests.service.conftest import call_in_memory
from tests.service.documents_support import (  # noqa: F401 - fixtures
    POLICY_PDF,
    bucket_fixture,
    publish,
)
from tests.service.dossier_stand_in import DossierStandIn

CALLER = "D1"
OTHERS = ("D2", "D10")
SECRET = "the documents service's cursor secret, 32+ characters"
NOTICE = "Die paginalink is niet meer geldig"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def office(mongo_url: str, database_name: str, s3_settings: dict[str, str], bucket: str
                 ) -> AsyncIterator[DocumentsService]:
    """The documents service (cursors signed with SECRET) with three documents a dossier."""
    built = build(DocumentsSettings(
        mongo_url=mongo_url, mongo_db=database_name, s3_endpoint=s3_settings["endpoint"],
        s3_access_key=s3_settings["access_key"], s3_secret_key=s3_settings["secret_key"],
        s3_bucket=bucket, cursor_secret=SECRET), rpc=DossierStandIn((CALLER, *OTHERS)))
    await built.store.ensure_indexes()
    await built.storage.ensure_bucket()
    async with TestRabbitBroker(built.runtime.broker):
        for dossier_id in (CALLER, *OTHERS):
            for number in range(3):
                await publish(built, dossier_id=dossier_id, title=f"Polis {number} [{dossier_id}]")
            await publish(built, PNG, dossier_id=dossier_id, title=f"Foto [{dossier_id}]",
                          filename="foto.png")
        yield built
    await built.runtime.database.client.drop_database(database_name)


@pytest.fixture
async def gateway(office: DocumentsService, tmp_path: Path) -> AsyncIterator[AttackedGateway]:
    async with gateway_on(office.runtime.broker, "documents", tmp_path) as attacked:
        yield attacked


def foreign_markers(text: str) -> list[str]:
    return [other for other in OTHERS if f"[{other}]" in text]


async def first_cursor(office: DocumentsService, dossier_id: str, **filters: Any) -> str:
    """The `next_cursor` of a list's first page of one document, as its client gets it."""
    staff = Caller(user_id="staff1", role=Role.AGENT)
    page = await call_in_memory(office.runtime.broker, documents.LIST_DOCUMENTS,
                                documents.ListDocumentsQuery(caller=staff, dossier_id=dossier_id,
                                                             page_size=1, **filters))
    assert page.next_cursor is not None
    return page.next_cursor


def unsigned(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def forged_cursors(office: DocumentsService) -> dict[str, str]:
    """Every cursor an attacker on D1's unfiltered list can send, by what it is."""
    own = await first_cursor(office, CALLER)
    body, _, tag = own.partition(".")
    real = ListCursors(CursorSigner(SECRET.encode()), "signature_requests")
    attacker = ListCursors(CursorSigner(b"an attacker's own key, 32 bytes!"), LIST_NAME)
    forged = {f"{other}'s cursor": await first_cursor(office, other) for other in OTHERS}
    forged |= {
        "own cursor of the PDF filter": await first_cursor(
            office, CALLER, content_type="application/pdf"),
        "a context's cursor, real key": ListCursors(
            CursorSigner(SECRET.encode()), LIST_NAME).sign(
                b"kD1\x1d999999999999999\x1fz", CALLER, "contract:C1", ""),
        "another list's cursor, real key": real.sign(b"kD1\x1d999999999999999\x1fz", CALLER,
                                                     "", ""),
        "signed with another key": attacker.sign(b"kD2\x1d999999999999999\x1fz", CALLER, "",
                                                 ""),
        "edited key, tag kept": f"{unsigned('kD2' + chr(0x1D) + '9' * 15)}.{tag}",
        "unsigned raw key": unsigned("kD2\x1d999999999999999\x1fz"),
        "former page number": "2", "garbage": "not-a-cursor", "dots": "...",
        "signature only": f".{tag}", "body only": body, "long": "A" * paging.MAX_CURSOR,
    }
    return forged


async def test_a_forged_cursor_is_a_422_in_the_api_and_shows_no_other_dossier(
    office: DocumentsService, gateway: AttackedGateway,
) -> None:
    client = gateway.bearer(dossiers=(CALLER,))
    for what, cursor in (await forged_cursors(office)).items():
        answer = await gateway.http.get(f"/api/v1/dossiers/{CALLER}/documents", headers=client,
                                        params={"cursor": cursor})
        assert foreign_markers(answer.text) == [], what
        assert answer.status_code == 422, (what, answer.text[:300])
        assert answer.headers["content-type"] == "application/problem+json", what
        assert "cursor" in str(answer.json().get("errors")), what


async def test_a_forged_cursor_in_a_page_link_shows_the_first_page_and_no_other_dossier(
    office: DocumentsService, gateway: AttackedGateway,
) -> None:
    browser = gateway.browser(dossiers=(CALLER,))
    for what, cursor in (await forged_cursors(office)).items():
        shown = await gateway.http.get("/documents", headers=browser, params={"cursor": cursor})
        assert foreign_markers(shown.text) == [], what
        assert shown.status_code == 200, (what, shown.text[:300])
        assert NOTICE in shown.text and f"[{CALLER}]" in shown.text, what


async def test_walking_the_list_by_its_own_cursors_shows_exactly_the_callers_documents(
    gateway: AttackedGateway,
) -> None:
    client = gateway.bearer(dossiers=(CALLER,))
    path = f"/api/v1/dossiers/{CALLER}/documents"
    titles: list[str] = []
    answer = await gateway.http.get(path, headers=client, params={"page_size": "1"})
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        titles += [document["title"] for document in body["documents"]]
        if body["next_cursor"] is None:
            break
        answer = await gateway.http.get(path, headers=client, params={
            "page_size": "1", "cursor": body["next_cursor"]})
    assert titles == [f"Foto [{CALLER}]", *(f"Polis {n} [{CALLER}]" for n in (2, 1, 0))]


async def test_the_page_links_next_and_back_to_the_first_page_keeping_the_filter(
    gateway: AttackedGateway,
) -> None:
    browser = gateway.browser(dossiers=(CALLER,))
    first = await gateway.http.get("/documents", headers=browser, params={"type": "pdf"})
    assert first.status_code == 200 and "Eerste pagina" not in first.text
    assert 'rel="next"' not in first.text  # three PDFs: one page of 20
    assert "Polis 2 [D1]" in first.text and "Foto [D1]" not in first.text


async def test_even_a_cursor_signed_with_the_real_key_reads_only_the_callers_dossier(
    office: DocumentsService,
) -> None:
    """Should the key leak, or a bug sign a foreign bound: the store still clamps the range to
    the caller's dossier and drops any row of another."""
    cursors = ListCursors(CursorSigner(SECRET.encode()), LIST_NAME)
    client = Caller(user_id="u-mallory", role=Role.CLIENT, dossier_ids=[CALLER])
    answered = 0
    for key in ("k", "l", "kD1", "kD1\x1e", "kD10\x1d999999999999999", "kD2\x1d9", "kD0",
                "k\uffff", "kD1\x1d999999999999999\x1f", "", "\x00", "j"):
        query = documents.ListDocumentsQuery(caller=client, dossier_id=CALLER,
                                             cursor=cursors.sign(key.encode(), CALLER, "", ""))
        try:
            listed = await call_in_memory(office.runtime.broker, documents.LIST_DOCUMENTS, query)
        except Invalid:
            continue  # not a list key at all: refused
        answered += 1
        assert foreign_markers(listed.model_dump_json()) == [], key
    assert answered == 8  # those beginning with "k"


async def test_a_refused_cursor_is_logged_as_tampering_with_the_caller_and_never_the_secret(
    office: DocumentsService, gateway: AttackedGateway,
) -> None:
    forged = await first_cursor(office, "D2")
    with structlog.testing.capture_logs() as logged:
        answer = await gateway.http.get(
            f"/api/v1/dossiers/{CALLER}/documents", params={"cursor": forged},
            headers=gateway.bearer(user_id="u-mallory", dossiers=(CALLER,)))
    assert answer.status_code == 422
    [warning] = [entry for entry in logged if entry.get("alert") == "cursor_tampering"]
    assert warning["log_level"] == "warning"
    assert (warning["user_id"], warning["role"], warning["dossier_id"], warning["list"]) == (
        "u-mallory", "client", CALLER, LIST_NAME)
    assert not any(SECRET in str(entry) or forged in str(entry) for entry in logged)
