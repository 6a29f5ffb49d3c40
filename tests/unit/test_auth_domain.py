"""Rules of accounts, invitations and sessions (auth service, pure)."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from libs.contracts.caller import Role
from services.auth.domain import (
    COMMON_PASSWORD,
    MAX_ACCESS_TOKEN_SECONDS,
    Account,
    InvitationState,
    RefreshOutcome,
    SessionLimits,
    SessionRecord,
    UserStatus,
    build_access_claims,
    cut_short,
    decide_refresh,
    hash_token,
    invitation_expiry,
    invitation_state,
    new_secret_token,
    normalize_email,
    password_problem,
)
from services.auth.passwords.policy import common_passwords

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
LIMITS = SessionLimits(idle=timedelta(days=14), maximum=timedelta(days=30))


# --- passwords ------------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["correct horse battery staple", "ü" * 127 + "x",
                                      "voorjaar in gent", "zeedijk 112 de panne",
                                      "ALLCAPSNODIGITS", "8 4 1 9 3 7 2 6 5 0"])
def test_a_password_of_12_to_128_characters_is_accepted_whatever_it_contains(
    password: str,
) -> None:
    assert password_problem(password) is None


def test_a_password_shorter_than_12_characters_is_refused() -> None:
    assert password_problem("a" * 11) == "The password must have at least 12 characters."


def test_a_password_longer_than_128_characters_is_refused() -> None:
    assert password_problem("ab" * 64 + "c") == "The password must have at most 128 characters."


@pytest.mark.parametrize("password", [
    "qwerty123456", "leavemealone", "1qaz2wsx3edc",  # on zxcvbn's list as they are
    "Password1234", "Summer2024!!!!", "  iloveyou!!  ", "Welkom123456",  # listed, decorated
    "aaaaaaaaaaaa", "abcabcabcabc", "abcdefghijkl", "123456789012", "987654321098",  # patterns
])
def test_a_common_or_trivially_predictable_password_is_refused(password: str) -> None:
    assert password_problem(password) == COMMON_PASSWORD


def test_the_common_passwords_list_is_zxcvbns_thirty_thousand() -> None:
    assert len(common_passwords()) > 25_000
    assert "password" in common_passwords()


def test_the_list_is_read_without_zxcvbns_ranked_dictionaries_of_every_list() -> None:
    """Importing the zxcvbn package keeps about 12 MiB of dictionaries in the auth service."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys; from services.auth.passwords.policy import "
         "common_passwords; print(len(common_passwords()), 'zxcvbn' in sys.modules)"],
        capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == ["30000", "False"]


def test_an_email_address_is_one_account_whatever_its_case_and_surrounding_spaces() -> None:
    assert normalize_email("  Jan.Peeters@Example.BE ") == "jan.peeters@example.be"


def test_secret_tokens_are_long_unique_and_stored_only_as_sha256() -> None:
    first, second = new_secret_token(), new_secret_token()
    assert first != second
    assert len(first) >= 43  # 32 random bytes, base64url
    assert hash_token(first) != first
    assert len(hash_token(first)) == 64
    assert hash_token(first) == hash_token(first)


# --- invitations ----------------------------------------------------------------------------

def test_an_invitation_is_valid_for_the_configured_number_of_days() -> None:
    assert invitation_expiry(NOW, 7) == NOW + timedelta(days=7)


@pytest.mark.parametrize("lifetime", [timedelta(days=7), timedelta(days=14),
                                      timedelta(days=7, milliseconds=1)])
def test_an_invitation_that_lived_whole_days_was_not_cut_short(lifetime: timedelta) -> None:
    assert not cut_short(NOW, NOW + lifetime)


@pytest.mark.parametrize("lifetime", [timedelta(hours=3), timedelta(days=2, minutes=5),
                                      timedelta(seconds=30)])
def test_an_invitation_ended_off_the_whole_days_was_cut_short(lifetime: timedelta) -> None:
    assert cut_short(NOW, NOW + lifetime)


def test_an_unused_invitation_before_its_expiry_is_open() -> None:
    assert invitation_state(NOW + timedelta(days=1), None, NOW) is InvitationState.OPEN


def test_an_invitation_is_expired_from_its_expiry_moment_on() -> None:
    assert invitation_state(NOW, None, NOW) is InvitationState.EXPIRED
    assert invitation_state(NOW - timedelta(seconds=1), None, NOW) is InvitationState.EXPIRED


def test_a_used_invitation_stays_used_even_after_its_expiry() -> None:
    used_at = NOW - timedelta(days=2)
    assert invitation_state(NOW + timedelta(days=1), used_at, NOW) is InvitationState.USED
    assert invitation_state(NOW - timedelta(days=1), used_at, NOW) is InvitationState.USED


# --- access tokens --------------------------------------------------------------------------

def _client(**changes: object) -> Account:
    fields: dict[str, object] = {
        "user_id": "u1", "email": "jan@example.be", "display_name": "Jan Peeters",
        "role": Role.CLIENT, "status": UserStatus.ACTIVE, "language": "fr",
        "dossier_ids": ["D2", "D1"],
    }
    fields.update(changes)
    return Account(**fields)  # type: ignore[arg-type]


def test_access_claims_carry_the_user_session_and_current_grants() -> None:
    claims = build_access_claims(_client(), "s1", NOW, 300)
    assert (claims.sub, claims.sid, claims.role) == ("u1", "s1", Role.CLIENT)
    assert (claims.email, claims.name, claims.lang) == ("jan@example.be", "Jan Peeters", "fr")
    assert claims.dossiers == ["D1", "D2"]
    assert claims.caller().dossier_ids == ["D1", "D2"]


def test_access_claims_expire_after_the_configured_lifetime() -> None:
    claims = build_access_claims(_client(), "s1", NOW, 120)
    assert claims.iat == int(NOW.timestamp())
    assert claims.exp - claims.iat == 120


def test_an_access_token_never_lives_longer_than_five_minutes() -> None:
    claims = build_access_claims(_client(), "s1", NOW, 3600)
    assert claims.exp - claims.iat == MAX_ACCESS_TOKEN_SECONDS == 300


def test_staff_tokens_carry_no_dossier_grants_because_staff_see_every_dossier() -> None:
    claims = build_access_claims(_client(role=Role.AGENT, dossier_ids=["D1"]), "s1", NOW, 300)
    assert claims.dossiers == []
    assert claims.caller().may_see_dossier("D9")


# --- refresh-token rotation and reuse detection ---------------------------------------------

def _session(**changes: object) -> SessionRecord:
    fields: dict[str, object] = {
        "session_id": "s1", "user_id": "u1", "refresh_token_hash": "current",
        "previous_refresh_hashes": ["first", "second"],
        "created_at": NOW - timedelta(days=1), "last_refreshed_at": NOW - timedelta(hours=1),
    }
    fields.update(changes)
    return SessionRecord(**fields)  # type: ignore[arg-type]


def test_the_current_refresh_token_of_a_live_session_is_rotated() -> None:
    assert decide_refresh(_session(), "current", NOW, LIMITS) is RefreshOutcome.ROTATE


def test_an_already_rotated_refresh_token_is_reuse() -> None:
    assert decide_refresh(_session(), "first", NOW, LIMITS) is RefreshOutcome.REUSED
    assert decide_refresh(_session(), "second", NOW, LIMITS) is RefreshOutcome.REUSED


def test_a_token_the_session_never_had_is_unknown() -> None:
    assert decide_refresh(_session(), "forged", NOW, LIMITS) is RefreshOutcome.UNKNOWN


def test_a_revoked_session_cannot_be_refreshed_even_with_its_current_token() -> None:
    session = _session(revoked_at=NOW - timedelta(minutes=1))
    assert decide_refresh(session, "current", NOW, LIMITS) is RefreshOutcome.REVOKED
    assert decide_refresh(session, "first", NOW, LIMITS) is RefreshOutcome.REVOKED


def test_a_session_left_idle_too_long_has_expired() -> None:
    session = _session(last_refreshed_at=NOW - timedelta(days=14))
    assert decide_refresh(session, "current", NOW, LIMITS) is RefreshOutcome.EXPIRED


def test_a_session_ends_at_its_maximum_age_however_often_it_is_refreshed() -> None:
    session = _session(created_at=NOW - timedelta(days=30), last_refreshed_at=NOW)
    assert decide_refresh(session, "current", NOW, LIMITS) is RefreshOutcome.EXPIRED
    assert LIMITS.idle_expiry(session) == NOW
