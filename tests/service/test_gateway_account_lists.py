"""The office's account and invitation lists at the gateway (auth is a fake): the filters and the
cursor reach auth, each row links to its account page, resend/revoke act on the invited account."""

from datetime import UTC, datetime, timedelta

from libs.contracts import account_lists as lists
from libs.contracts import auth
from libs.contracts.caller import Role
from libs.servicekit.errors import Conflict, Forbidden
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_admin_pages import account, csrf, sign_in_as_staff

WHEN = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def invitation(state: str, **changes: object) -> lists.InvitationSummary:
    values: dict[str, object] = {
        "invitation_id": f"i-{state}", "user_id": "u9", "email": "lotte@example.be",
        "display_name": "Lotte Maes", "state": state, "created_at": WHEN,
        "expires_at": WHEN + timedelta(days=7), "account_status": "invited"}
    values.update(changes)
    return lists.InvitationSummary.model_validate(values)


def test_the_account_list_page_filters_pages_and_links_each_row(gateway: Gateway) -> None:
    sign_in_as_staff(gateway, Role.ADMIN)
    gateway.rpc.answer(lists.LIST_ACCOUNTS, lists.AccountPage(
        accounts=[account(), account(user_id="s1", email="els@office.be",
                                     display_name="Els Kantoor", role=Role.AGENT,
                                     status="active", dossier_ids=[])],
        next_after="els@office.be"))
    page = gateway.client.get("/admin/account-list", params={
        "role": "staff", "status": "active", "contains": " Els "})
    assert page.status_code == 200
    [request] = gateway.rpc.called(lists.LIST_ACCOUNTS)
    assert isinstance(request, lists.ListAccountsRequest)
    assert (request.role, request.status, request.contains, request.after) == (
        "staff", "active", "Els", "")
    assert 'href="/admin/accounts?email=lotte%40example.be#account"' in page.text
    assert "Els Kantoor" in page.text and '<span class="badge">Medewerker</span>' in page.text
    assert ('href="/admin/account-list?role=staff&amp;status=active&amp;contains=Els'
            '&amp;after=els%40office.be"') in page.text  # the next page keeps the filters


def test_an_agent_is_offered_no_staff_filter_and_a_stale_filter_is_dropped(
    gateway: Gateway,
) -> None:
    sign_in_as_staff(gateway, Role.AGENT)
    gateway.rpc.answer(lists.LIST_ACCOUNTS, lists.AccountPage(accounts=[]))
    page = gateway.client.get("/admin/account-list", params={"role": "admin", "status": "x"})
    assert page.status_code == 200
    [request] = gateway.rpc.called(lists.LIST_ACCOUNTS)
    assert isinstance(request, lists.ListAccountsRequest)
    assert (request.role, request.status) == (None, None)
    assert 'id="filter-role"' not in page.text
    assert "Geen enkel account past bij deze filters." in page.text


def test_the_invitation_list_shows_states_and_resends_an_open_one(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    gateway.rpc.answer(lists.LIST_INVITATIONS, lists.InvitationPage(invitations=[
        invitation("pending"), invitation("used", user_id="u2", account_status="active",
                                          used_at=WHEN)]))
    page = gateway.client.get("/admin/invitations", params={"state": "pending"})
    assert page.status_code == 200
    assert "In afwachting" in page.text and "Gebruikt" in page.text
    assert page.text.count('action="/admin/invitations/u9/resend"') == 1
    assert 'action="/admin/invitations/u2/' not in page.text  # activated: nothing to resend

    gateway.rpc.answer(auth.RESEND_INVITATION, auth.InvitationPublic(
        invitation_id="i2", user_id="u9", email="lotte@example.be", expires_at=WHEN))
    done = gateway.client.post("/admin/invitations/u9/resend",
                               data={"csrf_token": csrf(gateway)})
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/invitations?done=resent"
    [resend] = gateway.rpc.called(auth.RESEND_INVITATION)
    assert isinstance(resend, auth.AccountActionRequest) and resend.user_id == "u9"
    assert resend.origin is not None  # for the audit log


def test_a_refused_revocation_is_explained_on_the_list(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    gateway.rpc.answer(lists.LIST_INVITATIONS, lists.InvitationPage(invitations=[]))
    gateway.rpc.answer(auth.REVOKE_INVITATION, Conflict("activated already"))
    refused = gateway.client.post("/admin/invitations/u9/revoke",
                                  data={"csrf_token": csrf(gateway)})
    assert refused.status_code == 409
    assert "Dit werd al behandeld" in refused.text


def test_the_admin_api_lists_accounts_and_invitations_for_staff_only(gateway: Gateway) -> None:
    gateway.rpc.answer(lists.LIST_ACCOUNTS, lists.AccountPage(accounts=[account()]))
    gateway.rpc.answer(lists.LIST_INVITATIONS, lists.InvitationPage(
        invitations=[invitation("expired")], next_after="k1"))
    staff = gateway.bearer(role=Role.AGENT, dossiers=())
    listed = gateway.client.get("/admin/api/v1/accounts?status=invited&limit=10", headers=staff)
    assert listed.status_code == 200, listed.text
    assert listed.json()["accounts"][0]["email"] == "lotte@example.be"
    [request] = gateway.rpc.called(lists.LIST_ACCOUNTS)
    assert isinstance(request, lists.ListAccountsRequest)
    assert (request.status, request.limit) == ("invited", 10)
    invitations = gateway.client.get("/admin/api/v1/invitations?state=expired", headers=staff)
    assert invitations.json()["next_after"] == "k1"
    assert gateway.client.get("/admin/api/v1/accounts?status=gone",
                              headers=staff).status_code == 422
    assert gateway.client.get("/admin/api/v1/accounts?limit=500",
                              headers=staff).status_code == 422
    client = gateway.bearer(role=Role.CLIENT, dossiers=("D1",))
    assert gateway.client.get("/admin/api/v1/accounts", headers=client).status_code == 403
    gateway.rpc.answer(lists.LIST_ACCOUNTS, Forbidden("Only the office admin sees staff."))
    assert gateway.client.get("/admin/api/v1/accounts?role=staff",
                              headers=staff).status_code == 403
