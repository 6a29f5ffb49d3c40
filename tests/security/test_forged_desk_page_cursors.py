"""Staff follow forged page links of the request desk's page (/admin/desk?cursor=...), on the
real requests service: the page never takes a cursor the service did not sign for its filters;
it shows the first page with a notice, the way the office's other lists do."""

import base64

from libs.contracts import requests
from libs.contracts.caller import Role
from libs.servicekit.cursor_signing import CursorSigner
from tests.security.conftest import AttackedGateway
from tests.security.test_forged_desk_cursors import (  # noqa: F401 - their fixtures
    office,
    service,
)

NOTICE = "Die paginalink is niet meer geldig; hier is de eerste pagina van de lijst."


async def test_a_forged_cursor_in_a_desk_page_link_shows_the_first_page_with_a_notice(
    office: AttackedGateway,  # noqa: F811 - the fixture imported above
) -> None:
    browser = office.browser(user_id="agent-1", role=Role.AGENT, dossiers=())
    first = await office.http.get("/admin/desk", headers=browser)
    assert first.status_code == 200 and NOTICE not in first.text
    rows = first.text.count('class="row sub-card desk-row')
    assert rows == 9
    edited = base64.urlsafe_b64encode(b"k").decode().rstrip("=")
    for what, cursor in {
        "raw key": "k0", "raw bound": "k", "garbage": "not-a-cursor",
        "edited body": f"{edited}.AAAA", "long": "A" * requests.MAX_CURSOR,
        "signed with another key": CursorSigner(b"an attacker's own key, 32 bytes!").sign(
            b"k0", "desk-1", "", "True", "", "", "", "", ""),
    }.items():
        shown = await office.http.get("/admin/desk", headers=browser, params={"cursor": cursor})
        assert shown.status_code == 200, (what, shown.text[:300])
        assert NOTICE in shown.text, what
        assert shown.text.count('class="row sub-card desk-row') == rows, what
    too_long = await office.http.get("/admin/desk", headers=browser,
                                     params={"cursor": "A" * (requests.MAX_CURSOR + 1)})
    assert too_long.status_code == 422  # bounded before any service is asked
