"""The access token says when its session's login happened (`auth_time`): a refreshed token
keeps the login's time, so a signature can ask for the password again after a while."""

from datetime import UTC, datetime, timedelta

from libs.contracts.caller import Role
from services.auth.domain import Account, UserStatus, build_access_claims

LOGIN = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def account() -> Account:
    return Account(user_id="u1", email="an@example.be", display_name="An", role=Role.CLIENT,
                   status=UserStatus.ACTIVE, password_hash="x", language="nl",
                   dossier_ids=["D1"])


def test_a_new_session_s_token_carries_its_login_time() -> None:
    claims = build_access_claims(account(), "s1", LOGIN, 300)
    assert claims.auth_time == int(LOGIN.timestamp()) == claims.iat


def test_a_refreshed_token_keeps_the_login_time() -> None:
    later = LOGIN + timedelta(hours=2)
    claims = build_access_claims(account(), "s1", later, 300, LOGIN)
    assert claims.iat == int(later.timestamp())
    assert claims.auth_time == int(LOGIN.timestamp())
