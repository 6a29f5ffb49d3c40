# ruff: noqa: F811 - pytest fixtures imported from test_notifier are used as parameters
"""The notifier's copy of the office settings: asked from auth at start, then each change as it
is announced; a late or repeated announcement never undoes a newer change. The logo the settings
name is fetched once per change and rides inline in every mail; a logo that cannot be had never
holds a mail back."""

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import structlog
from faststream.rabbit import TestRabbitBroker
from pydantic import BaseModel

from libs.contracts.auth import EidLinkRequested, RegistrationPending
from libs.contracts.documents import (
    OFFICE_ASSETS,
    OPEN_OFFICE_ASSET,
    DocumentPublic,
    DownloadTicket,
    OpenOfficeAssetRequest,
)
from libs.contracts.office import (
    GET_OFFICE,
    OfficeAddresses,
    OfficeSettingsChanged,
    OfficeSettingsPublic,
)
from libs.contracts.rpc import RpcMethod
from libs.servicekit.bus import EVENTS
from libs.servicekit.errors import Unavailable
from services.notifier.mail_templates import LOGO_CID
from services.notifier.main import NotifierService, build
from services.notifier.office import MAX_LOGO_BYTES
from tests.service.test_notifier import (  # noqa: F401 - fixtures
    MailSink,
    invitation,
    mail_sink,
    publish,
    settings_for,
    smtp_port,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
OTHER_PNG = PNG + b"\x00\x00\x00\x00IEND"
STORE = "http://s3.test/office-assets"


class AuthStandIn:
    """Answers GET_OFFICE with what the test stored, or fails while `away`; stands in for the
    documents service too (OPEN_OFFICE_ASSET: a presigned address into `Store`)."""

    def __init__(self) -> None:
        self.settings = OfficeSettingsPublic(name="Kantoor Janssens", version=3)
        self.away = False
        self.asset_calls = 0

    async def call(self, method: RpcMethod[Any, Any], request: BaseModel) -> Any:
        if method.queue == OPEN_OFFICE_ASSET.queue:
            assert isinstance(request, OpenOfficeAssetRequest)
            self.asset_calls += 1
            document = DocumentPublic(
                document_id=request.document_id, dossier_id=OFFICE_ASSETS, title="Logo",
                filename="logo.png", content_type="image/png", size=len(PNG), sha256="0" * 64,
                uploaded_by="admin", uploaded_at=datetime.now(UTC))
            return DownloadTicket(
                document=document,
                download_url=f"{STORE}/{request.document_id}?X-Amz-Signature=x")
        assert method.queue == GET_OFFICE.queue
        if self.away:
            raise Unavailable("auth is away")
        return self.settings


class Store:
    """The object store behind the presigned GETs: a body per document id."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(503)
        body = self.bodies.get(request.url.path.rsplit("/", 1)[-1])
        return httpx.Response(404) if body is None else httpx.Response(200, content=body)


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def auth() -> AuthStandIn:
    return AuthStandIn()


@pytest.fixture
async def service(mongo_url: str, database_name: str, auth: AuthStandIn, store: Store,
                  smtp_port: int) -> AsyncIterator[NotifierService]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(store))
    built = build(settings_for(mongo_url, database_name, smtp_port), rpc=auth, http=http)
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.office.close()
    await built.runtime.database.client.drop_database(database_name)


async def announce(service: NotifierService, name: str, version: int) -> None:
    event = OfficeSettingsChanged(settings=OfficeSettingsPublic(name=name, version=version))
    await service.runtime.broker.publish(event.model_dump(mode="json"), exchange=EVENTS,
                                         routing_key=event.routing_key)


async def test_the_settings_come_from_auth_then_from_each_change(
    service: NotifierService, auth: AuthStandIn,
) -> None:
    assert service.office.current().version == 0  # the neutral defaults before auth answers
    await service.office.load()
    assert service.office.current().name == "Kantoor Janssens"

    await announce(service, "Kantoor Janssens & Zonen", 4)
    assert service.office.current().name == "Kantoor Janssens & Zonen"

    await announce(service, "Kantoor Janssens", 3)  # late: an older version
    await announce(service, "Kantoor Janssens & Zonen", 4)  # repeated
    assert (service.office.current().name, service.office.current().version) == (
        "Kantoor Janssens & Zonen", 4)

    await service.office.load()  # auth's answer is older than the announced change
    assert service.office.current().version == 4


async def test_auth_away_at_start_leaves_the_defaults_until_it_answers(
    service: NotifierService, auth: AuthStandIn,
) -> None:
    auth.away = True
    with pytest.raises(Unavailable):
        await service.office.load()
    assert service.office.current() == OfficeSettingsPublic()
    auth.away = False
    await service.office.load()
    assert service.office.current().version == 3


def with_logo(version: int, document_id: str, body: bytes) -> OfficeSettingsPublic:
    return OfficeSettingsPublic(name="Kantoor Janssens", version=version,
                                logo_document_id=document_id,
                                logo_sha256=hashlib.sha256(body).hexdigest())


def inline_logo(mail: Any) -> bytes | None:
    """The bytes of the mail's inline logo (its CID part), or None."""
    for part in mail.walk():
        if part.get("Content-ID") == f"<{LOGO_CID}>":
            html = mail.get_body(("html",)).get_content()
            assert f'src="cid:{LOGO_CID}"' in html
            return bytes(part.get_content())
    return None


async def test_every_mail_carries_the_current_logo_inline(
    service: NotifierService, auth: AuthStandIn, store: Store, mail_sink: MailSink,
) -> None:
    store.bodies.update({"logo1": PNG, "logo2": OTHER_PNG})
    auth.settings = with_logo(3, "logo1", PNG)
    await service.office.load()
    await service.office.load()  # the same logo: fetched once, kept
    assert auth.asset_calls == 1

    await publish(service.runtime.broker, invitation("nl"))
    assert inline_logo(mail_sink.mails[-1]) == PNG

    # The admin uploads another logo: the change announces it, the next mail carries it.
    changed = with_logo(4, "logo2", OTHER_PNG)
    await service.runtime.broker.publish(
        OfficeSettingsChanged(settings=changed).model_dump(mode="json"), exchange=EVENTS,
        routing_key=OfficeSettingsChanged.routing_key)
    await publish(service.runtime.broker, invitation("fr"))
    assert inline_logo(mail_sink.mails[-1]) == OTHER_PNG

    # The logo removed: mails go without one.
    await service.runtime.broker.publish(
        OfficeSettingsChanged(settings=OfficeSettingsPublic(version=5)).model_dump(mode="json"),
        exchange=EVENTS, routing_key=OfficeSettingsChanged.routing_key)
    await publish(service.runtime.broker, invitation("en"))
    assert len(mail_sink.mails) == 3 and inline_logo(mail_sink.mails[-1]) is None


@pytest.mark.parametrize("trouble", ["store down", "another hash", "too large"])
async def test_a_logo_that_cannot_be_had_is_logged_and_the_mails_go_without_it(
    service: NotifierService, auth: AuthStandIn, store: Store, mail_sink: MailSink,
    trouble: str,
) -> None:
    body = b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_LOGO_BYTES if trouble == "too large" else PNG
    store.bodies["logo1"] = body
    auth.settings = with_logo(3, "logo1", body)
    store.down = trouble == "store down"
    if trouble == "another hash":
        store.bodies["logo1"] = OTHER_PNG
    with structlog.testing.capture_logs() as logs:
        await service.office.load()
    assert service.office.current().version == 3  # the settings themselves are kept
    assert any(entry["event"].startswith("office logo not fetched") for entry in logs)

    await publish(service.runtime.broker, invitation("nl"))
    assert len(mail_sink.mails) == 1 and inline_logo(mail_sink.mails[0]) is None

    store.down, store.bodies["logo1"] = False, PNG  # fixed: the next refresh fetches it
    auth.settings = with_logo(4, "logo1", PNG)
    await service.office.load()
    assert service.office.logo() == PNG


async def test_the_office_hears_of_registrations_and_eid_links_at_its_registrations_address(
    service: NotifierService, auth: AuthStandIn, mail_sink: MailSink,
) -> None:
    pending = RegistrationPending(registration_id="g1", user_id="u1", email="an@example.be",
                                  display_name="An Peeters")
    await publish(service.runtime.broker, pending)  # no addresses set: the configured one
    auth.settings = OfficeSettingsPublic(name="Kantoor Janssens", version=4, addresses=(
        OfficeAddresses(general="info@janssens.be", registrations="nieuw@janssens.be")))
    await service.office.load()
    link = EidLinkRequested(link_id="k1", email="an@example.be", display_name="An Peeters")
    await publish(service.runtime.broker, link)
    auth.settings = OfficeSettingsPublic(name="Kantoor Janssens", version=5,
                                         addresses=OfficeAddresses(general="info@janssens.be"))
    await service.office.load()
    later = RegistrationPending(registration_id="g2", user_id="u2", email="jan@example.be",
                                display_name="Jan Peeters")
    await publish(service.runtime.broker, later)
    await publish(service.runtime.broker, later)  # delivered twice: mailed once

    assert mail_sink.recipients == [["office@broker.test"], ["nieuw@janssens.be"],
                                    ["info@janssens.be"]]
    first, second, third = mail_sink.mails
    assert first["Message-ID"] == f"<{pending.event_id}.registration-pending@mybroker>"
    assert second["Message-ID"] == f"<{link.event_id}.eid-link-requested@mybroker>"
    text = third.get_body(("plain",))
    assert text is not None
    assert "Jan Peeters" in str(third["Subject"]) and "Kantoor Janssens" in text.get_content()
