"""The office settings at the gateway (auth and the documents service are fakes): the admin
API and the "Kantoor" page, the pages' header, footer and colours, the public logo."""

import hashlib
import io

from PIL import Image
from pydantic import BaseModel

from gateway.office import OfficeKeeper, OfficeListener
from libs.contracts import documents, office
from libs.contracts.caller import Role
from libs.contracts.envelope import utc_now
from libs.contracts.office import OfficeColours, OfficeSettingsPublic
from libs.servicekit.errors import Invalid
from tests.service.gateway_support import (
    STORE,
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_admin_pages import csrf, sign_in_as_staff

ADMIN = {"role": Role.ADMIN, "dossiers": (), "user_id": "admin1"}
AGENT = {"role": Role.AGENT, "dossiers": (), "user_id": "agent1"}
CONTRAST = ("Contrast 1.51:1 against the white page is below the 4.5:1 that text needs "
            "(WCAG AA); choose a darker colour.")


def stored(request: BaseModel) -> OfficeSettingsPublic:
    """What auth answers to UPDATE_OFFICE: the settings as the next version."""
    assert isinstance(request, office.UpdateOfficeRequest)
    return OfficeSettingsPublic(**request.settings.model_dump(),
                                version=(request.expected_version or 0) + 1,
                                updated_by=request.caller.user_id)


def image(kind: str, size: tuple[int, int] = (120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (31, 78, 121)).save(buffer, kind)
    return buffer.getvalue()


def test_staff_read_the_settings_clients_do_not(gateway: Gateway) -> None:
    response = gateway.client.get("/admin/api/v1/office", headers=gateway.bearer(**AGENT))
    assert response.status_code == 200 and response.json()["version"] == 0
    client = gateway.client.get("/admin/api/v1/office", headers=gateway.bearer())
    assert client.status_code == 403


def test_an_agent_may_not_change_the_settings(gateway: Gateway) -> None:
    response = gateway.client.put("/admin/api/v1/office", headers=gateway.bearer(**AGENT),
                                  json={"name": "Kantoor Agent"})
    assert response.status_code == 403
    assert gateway.rpc.called(office.UPDATE_OFFICE) == []


def test_the_admins_change_shows_on_the_login_page_at_once(gateway: Gateway) -> None:
    gateway.rpc.answer(office.UPDATE_OFFICE, stored)
    response = gateway.client.put("/admin/api/v1/office", headers=gateway.bearer(**ADMIN), json={
        "name": "Verzekeringen Peeters", "expected_version": 0, "fsma_number": "114389 A",
        "company_number": "0403.170.701", "postal_address": "Kerkstraat 1\n2000 Antwerpen",
        "colours": {"primary": "#004d40", "accent": "#8a4b08"}})
    assert response.status_code == 200 and response.json()["version"] == 1
    [sent] = gateway.rpc.called(office.UPDATE_OFFICE)
    assert isinstance(sent, office.UpdateOfficeRequest) and sent.expected_version == 0

    login = gateway.client.get("/login").text
    assert 'class="brand-name">Verzekeringen Peeters<' in login
    assert "FSMA-nummer: 114389 A" in login and "Kerkstraat 1<br>2000 Antwerpen" in login
    assert '/office/theme.css?v=1' in login
    theme = gateway.client.get("/office/theme.css?v=1")
    assert "--brand: #004d40;" in theme.text and theme.headers["content-type"].startswith(
        "text/css")
    assert "immutable" in theme.headers["cache-control"]


def test_a_refused_field_comes_back_per_field(gateway: Gateway) -> None:
    gateway.rpc.answer(office.UPDATE_OFFICE, Invalid(
        "Some office settings are not valid.", fields={"colours.primary": CONTRAST}))
    response = gateway.client.put("/admin/api/v1/office", headers=gateway.bearer(**ADMIN),
                                  json={"colours": {"primary": "#ffcc00"}})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == {"colours.primary": CONTRAST}


def test_the_page_names_the_refused_colour_and_keeps_what_was_typed(gateway: Gateway) -> None:
    gateway.rpc.answer(office.UPDATE_OFFICE, Invalid(
        "Some office settings are not valid.", fields={"colours.primary": CONTRAST}))
    sign_in_as_staff(gateway, Role.ADMIN)
    page = gateway.client.get("/admin/office")
    assert page.status_code == 200 and 'name="colours.primary"' in page.text
    response = gateway.client.post("/admin/office", data={
        "csrf_token": csrf(gateway), "expected_version": "0", "name": "Kantoor Geel",
        "colours.primary": "#ffcc00", "colours.accent": "#8a4b08", "default_language": "nl"})
    assert response.status_code == 422
    assert "Deze kleur heeft een contrast van 1.51:1" in response.text
    assert 'value="Kantoor Geel"' in response.text and 'value="#ffcc00"' in response.text
    assert 'aria-invalid="true"' in response.text


def test_an_agent_reads_the_page_but_cannot_save(gateway: Gateway) -> None:
    sign_in_as_staff(gateway, Role.AGENT)
    page = gateway.client.get("/admin/office")
    assert page.status_code == 200 and "readonly" in page.text
    response = gateway.client.post("/admin/office", data={
        "csrf_token": csrf(gateway), "expected_version": "0", "name": "Kantoor Agent"})
    assert response.status_code == 403
    assert gateway.rpc.called(office.UPDATE_OFFICE) == []


def test_an_uploaded_logo_is_stored_and_served_publicly(gateway: Gateway) -> None:
    body = image("PNG")
    digest = hashlib.sha256(body).hexdigest()
    gateway.rpc.answer(documents.BEGIN_UPLOAD, documents.UploadSlot(
        document_id="logo1", upload_url=f"{STORE}/logo1?X-Amz-Signature=abc",
        max_size=25 * 1024 * 1024))
    gateway.rpc.answer(documents.COMPLETE_UPLOAD, documents.DocumentPublic(
        document_id="logo1", dossier_id=documents.OFFICE_ASSETS, title="Logo",
        filename="logo.png", content_type="image/png", size=len(body), sha256=digest,
        uploaded_by="admin1", uploaded_at=utc_now(),
        context=documents.DocumentContext(kind=documents.ContextKind.OFFICE)))
    gateway.rpc.answer(office.UPDATE_OFFICE, stored)
    response = gateway.client.post("/admin/api/v1/office/logo", headers=gateway.bearer(**ADMIN),
                                   files={"file": ("logo.png", body, "image/png")})
    assert response.status_code == 201, response.text
    assert response.json()["logo_sha256"] == digest
    [begun] = gateway.rpc.called(documents.BEGIN_UPLOAD)
    assert isinstance(begun, documents.BeginUploadRequest)
    assert (begun.dossier_id, begun.context.kind) == (documents.OFFICE_ASSETS, "office")
    assert gateway.store.objects["/mybroker-documents/logo1"] == body

    assert f"/office/logo?v={digest}" in gateway.client.get("/login").text
    logo = gateway.client.get(f"/office/logo?v={digest}")  # no sign-in: the login page's
    assert logo.status_code == 200 and logo.content == body
    assert logo.headers["content-type"] == "image/png"
    assert "immutable" in logo.headers["cache-control"]


def test_a_logo_that_is_no_png_or_jpeg_is_refused(gateway: Gateway) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for name, body, kind in (("logo.svg", svg, "image/svg+xml"),
                             ("logo.gif", image("GIF"), "image/gif"),
                             ("huge.png", image("PNG", (2500, 10)), "image/png")):
        response = gateway.client.post(
            "/admin/api/v1/office/logo", headers=gateway.bearer(**ADMIN),
            files={"file": (name, body, kind)})
        assert response.status_code == 422, name
        assert "logo" in response.json()["errors"]
    assert gateway.rpc.called(documents.BEGIN_UPLOAD) == []
    assert gateway.client.get("/office/logo").status_code == 404


def test_an_agent_may_not_upload_a_logo(gateway: Gateway) -> None:
    response = gateway.client.post("/admin/api/v1/office/logo", headers=gateway.bearer(**AGENT),
                                   files={"file": ("logo.png", image("PNG"), "image/png")})
    assert response.status_code == 403


async def test_the_newest_version_wins_whatever_the_order_of_events() -> None:
    keeper = OfficeKeeper()

    async def nothing() -> None:
        return None

    listener = OfficeListener("amqp://unused", keeper, nothing)

    def event(name: str, version: int) -> bytes:
        return office.OfficeSettingsChanged(settings=OfficeSettingsPublic(
            name=name, version=version, colours=OfficeColours())).model_dump_json().encode()

    listener.receive(event("Versie 2", 2))
    listener.receive(event("Versie 1", 1))  # late
    listener.receive(b"{not json")
    assert (keeper.current().name, keeper.current().version) == ("Versie 2", 2)
    assert not keeper.offer(OfficeSettingsPublic(name="Versie 2 again", version=2))
    assert keeper.offer(OfficeSettingsPublic(name="Versie 3", version=3))
