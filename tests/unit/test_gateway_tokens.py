"""The gateway trusts only genuine, current access tokens of sessions that have not ended."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.tokens import (
    DenyList,
    RevokedGrants,
    TokenExpired,
    TokenVerifier,
    load_public_key,
)
from libs.contracts.auth import AccessClaims
from libs.contracts.caller import Role
from libs.servicekit.errors import Unauthenticated, Unavailable

AUTH_KEY = Ed25519PrivateKey.generate()


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    values: dict[str, object] = AccessClaims(
        sub="u1", sid="s1", role=Role.CLIENT, email="an@example.be", name="An Peeters",
        dossiers=["D1"], iat=now, exp=now + 300,
    ).model_dump(mode="json")
    values.update(overrides)
    return values


def sign(payload: dict[str, object], key: Ed25519PrivateKey = AUTH_KEY) -> str:
    return jwt.encode(payload, key, algorithm="EdDSA")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def verifier() -> TokenVerifier:
    checker = TokenVerifier(DenyList(keep_seconds=300), leeway_seconds=0)
    checker.use_key(AUTH_KEY.public_key())
    return checker


def test_a_genuine_token_gives_the_callers_identity_and_grants(verifier: TokenVerifier) -> None:
    verified = verifier.verify(sign(claims()))
    assert verified.sub == "u1"
    assert verified.caller().dossier_ids == ["D1"]


def test_an_expired_token_is_refused_as_expired(verifier: TokenVerifier) -> None:
    past = int(time.time()) - 600
    with pytest.raises(TokenExpired):
        verifier.verify(sign(claims(iat=past, exp=past + 300)))


def test_a_token_signed_with_another_key_is_refused(verifier: TokenVerifier) -> None:
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(sign(claims(), key=Ed25519PrivateKey.generate()))
    assert not isinstance(refused.value, TokenExpired)


@pytest.mark.parametrize("claim", [{"aud": "another-app"}, {"iss": "someone-else"}])
def test_a_token_for_another_audience_or_from_another_issuer_is_refused(
    verifier: TokenVerifier, claim: dict[str, object]
) -> None:
    with pytest.raises(Unauthenticated):
        verifier.verify(sign(claims(**claim)))


def test_a_token_without_session_id_is_refused(verifier: TokenVerifier) -> None:
    payload = claims()
    del payload["sid"]
    with pytest.raises(Unauthenticated):
        verifier.verify(sign(payload))


def test_an_hmac_token_made_with_the_public_key_is_refused(verifier: TokenVerifier) -> None:
    public_pem = AUTH_KEY.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    forged = jwt.encode(claims(), public_pem, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        verifier.verify(forged)


def test_garbage_is_refused(verifier: TokenVerifier) -> None:
    with pytest.raises(Unauthenticated):
        verifier.verify("not-a-token")


def test_a_revoked_session_is_refused_although_its_token_is_still_valid(
    verifier: TokenVerifier,
) -> None:
    token = sign(claims(sid="s-logged-out"))
    verifier.deny_list.add("s-logged-out")
    with pytest.raises(Unauthenticated, match="ended"):
        verifier.verify(token)
    assert verifier.verify(sign(claims(sid="s-other"))).sid == "s-other"


def test_a_revoked_session_is_forgotten_once_its_tokens_expired_anyway() -> None:
    clock = Clock()
    deny_list = DenyList(keep_seconds=300, clock=clock)
    deny_list.add("s1")
    clock.now += 299
    assert "s1" in deny_list
    clock.now += 2
    assert "s1" not in deny_list
    assert len(deny_list) == 0


def test_without_a_public_key_tokens_cannot_be_checked_yet() -> None:
    with pytest.raises(Unavailable):
        TokenVerifier(DenyList(300)).verify(sign(claims()))


def test_the_session_of_an_expired_token_is_still_known_for_logout(
    verifier: TokenVerifier,
) -> None:
    past = int(time.time()) - 600
    assert verifier.session_of(sign(claims(sid="s9", iat=past, exp=past + 300))) == "s9"
    assert verifier.session_of(sign(claims(), key=Ed25519PrivateKey.generate())) is None


def test_the_public_key_is_read_from_auths_pem_file(tmp_path: Path) -> None:
    path = tmp_path / "public.pem"
    path.write_bytes(AUTH_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    checker = TokenVerifier(DenyList(300))
    checker.use_key(load_public_key(path))
    assert checker.verify(sign(claims())).email == "an@example.be"


# --- dossier grants taken away -------------------------------------------------------------


def test_a_dossier_taken_away_is_dropped_from_tokens_issued_before(
    verifier: TokenVerifier,
) -> None:
    issued = int(time.time()) - 10
    token = sign(claims(dossiers=["D1", "D2"], iat=issued, exp=issued + 300))
    assert verifier.verify(token).dossiers == ["D1", "D2"]

    verifier.revoked_grants.add("u1", "D2", datetime.now(UTC))

    assert verifier.verify(token).dossiers == ["D1"]
    assert verifier.verify(token).caller().dossier_ids == ["D1"]  # what services are told
    # Another client's grant of the same dossier, and the user's other dossiers, stay.
    assert verifier.verify(sign(claims(sub="u2", dossiers=["D2"], iat=issued))).dossiers == ["D2"]


def test_a_token_issued_after_the_revocation_is_the_accounts_truth(
    verifier: TokenVerifier,
) -> None:
    revoked_at = datetime.now(UTC) - timedelta(seconds=30)
    verifier.revoked_grants.add("u1", "D2", revoked_at)  # then granted again, say
    later = int(revoked_at.timestamp()) + 5
    assert verifier.verify(sign(claims(dossiers=["D1", "D2"], iat=later))).dossiers == [
        "D1", "D2"]


def test_a_revoked_grant_is_forgotten_once_the_tokens_before_it_expired() -> None:
    clock = Clock()
    revoked = RevokedGrants(keep_seconds=300, clock=clock)
    revoked.add("u1", "D2", datetime.now(UTC))
    issued = AccessClaims.model_validate(claims(dossiers=["D2"], iat=int(time.time()) - 1))
    assert revoked.kept(issued) == []
    clock.now += 301
    assert revoked.kept(issued) == ["D2"]
    assert len(revoked) == 0


def test_a_token_checked_before_still_expires_and_its_session_still_ends(
    verifier: TokenVerifier,
) -> None:
    now = int(time.time())
    token = sign(claims(iat=now, exp=now + 2))
    assert verifier.verify(token).sub == "u1"
    assert verifier.verify(token).sub == "u1"  # the kept check
    time.sleep(2.1)
    with pytest.raises(TokenExpired):
        verifier.verify(token)
    other = sign(claims(sid="s2"))
    verifier.verify(other)
    verifier.deny_list.add("s2")
    with pytest.raises(Unauthenticated):
        verifier.verify(other)


def test_a_token_is_checked_again_under_a_new_key(verifier: TokenVerifier) -> None:
    token = sign(claims())
    verifier.verify(token)
    verifier.use_key(Ed25519PrivateKey.generate().public_key())  # auth's key was rotated
    with pytest.raises(Unauthenticated):
        verifier.verify(token)
