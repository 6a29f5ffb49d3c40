"""In the browser: Swagger UI of the client API draws its operations under the docs page's strict
CSP, from the gateway alone; the admin API's docs open for signed-in staff."""

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.support import log_in_as_office_admin
from tests.system.stack import SystemStack

pytestmark = pytest.mark.browser


def test_swagger_ui_draws_the_client_api_from_the_gateway_alone(
    browser: Browser, system_stack: SystemStack,
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    requested: list[str] = []
    refused: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        page.goto(f"{system_stack.gateway_url}/api/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("MyBroker API")
        expect(page.get_by_text("/api/v1/dossiers/{dossier_id}/contracts").first).to_be_visible()
        expect(page.get_by_text("/admin/api/v1/invitations")).to_have_count(0)
        page.screenshot(path=str(system_stack.group.log_dir / "api-docs.png"))
        assert [url for url in requested if not url.startswith(system_stack.gateway_url)
                and not url.startswith("data:")] == []
        assert refused == []

        log_in_as_office_admin(page, system_stack)
        page.goto(f"{system_stack.gateway_url}/admin/api-docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("MyBroker admin API")
        expect(page.get_by_text("/admin/api/v1/invitations").first).to_be_visible()
        assert refused == []
    finally:
        page.close()

