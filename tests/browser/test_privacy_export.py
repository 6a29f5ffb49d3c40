"""On "Mijn privacy" a client asks for all their data, is mailed, and downloads the ZIP; an
expired export shows a page that says so. On a phone and on a desktop, without axe violations."""

import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from pymongo import MongoClient

from deploy.local.maildir import wait_for_mail
from tests.browser.support import log_in
from tests.browser.test_accessibility import violations
from tests.system.stack import SystemStack, fixture_dossier, import_dossiers, new_client

pytestmark = pytest.mark.browser
DUPONT = fixture_dossier("dupont")["dossier_id"]


def _no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900},
                                      {"width": 390, "height": 844}], ids=["desktop", "phone"])
def test_a_client_asks_for_their_data_and_downloads_the_zip(
    browser: Browser, system_stack: SystemStack, mongo_url: str, tmp_path: Path,
    viewport: dict[str, int],
) -> None:
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        import_dossiers(system_stack, gateway, "dupont")
        client = new_client(system_stack, gateway, "Sofie Dupont", [DUPONT])
    page = browser.new_page(locale="nl-BE", viewport=viewport)  # type: ignore[arg-type]
    try:
        log_in(page, system_stack, client.email, client.password, next_page="/privacy")
        expect(page.get_by_role("heading", name="Mijn privacy")).to_be_visible()
        assert violations(page) == []
        page.get_by_role("button", name="Mijn gegevensexport klaarmaken").click()
        expect(page.get_by_text("Uw export wordt klaargemaakt sinds")).to_be_visible()
        expect(page.get_by_role("button", name="Mijn gegevensexport klaarmaken")).to_have_count(0)

        mail = wait_for_mail(system_stack.maildir, client.email, containing="staan klaar",
                             timeout=90.0)
        assert f"{system_stack.gateway_url}/privacy" in mail.text
        page.reload()
        link = page.get_by_role("link", name="Mijn gegevens downloaden")
        expect(link).to_be_visible()
        assert _no_sideways_scroll(page)
        assert violations(page) == []
        page.screenshot(path=str(tmp_path / f"privacy-{viewport['width']}.png"), full_page=True)
        # The link's download, with the page's own session (as the other browser tests fetch
        # a download: this chromium fires no download event headless).
        href = str(link.get_attribute("href"))
        download = page.request.get(system_stack.gateway_url + href)
        assert download.status == 200
        assert download.headers["content-type"] == "application/zip"
        assert download.headers["content-disposition"].startswith(
            'attachment; filename="mybroker-export-')
        archive = zipfile.ZipFile(io.BytesIO(download.body()))
        assert "Uw gegevens bij MyBroker" in archive.read("index.html").decode()
        assert client.email in archive.read("account/account.json").decode()
        assert "Dupont" in archive.read("dossiers/dossiers.json").decode()

        # Seven days later the ZIP is gone: the link shows a page that says so (410).
        past = datetime.now(UTC) - timedelta(minutes=1)
        MongoClient(mongo_url)[f"{system_stack.config.mongo_db_prefix}_auth"][
            "privacy_exports"].update_one({"_id": href.split("/")[3]}, {"$set": {
                "expires_at": past, "expires_ms": int(past.timestamp() * 1000)}})
        answer = page.goto(system_stack.gateway_url + href)
        assert answer is not None and answer.status == 410
        expect(page.get_by_role("heading", name="Deze export is verlopen")).to_be_visible()
        assert violations(page) == []
        page.get_by_role("link", name="Naar Mijn privacy").click()
        expect(page.get_by_role("heading", name="Mijn privacy")).to_be_visible()
    finally:
        page.close()
