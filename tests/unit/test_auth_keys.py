"""Signing keys: generated and read as PEM; access tokens verify with the public key only."""

import stat
from pathlib import Path

import jwt
import pytest

from libs.contracts.auth import ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, AccessClaims
from libs.contracts.caller import Role
from services.auth import cli
from services.auth.sessions.access_tokens import AccessTokenSigner, load_private_key, public_key_pem


def test_generate_keypair_writes_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    private, public = tmp_path / "auth.pem", tmp_path / "auth.pub.pem"
    cli.run(["generate-keypair", "--private", str(private), "--public", str(public)])
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert public_key_pem(load_private_key(private)) == public.read_bytes()


def test_generate_keypair_does_not_replace_an_existing_key_without_force(tmp_path: Path) -> None:
    private, public = tmp_path / "auth.pem", tmp_path / "auth.pub.pem"
    cli.run(["generate-keypair", "--private", str(private), "--public", str(public)])
    first = private.read_bytes()
    with pytest.raises(SystemExit, match="--force"):
        cli.run(["generate-keypair", "--private", str(private), "--public", str(public)])
    assert private.read_bytes() == first
    cli.run(["generate-keypair", "--private", str(private), "--public", str(public), "--force"])
    assert private.read_bytes() != first


def test_public_key_prints_the_public_half_of_the_configured_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = tmp_path / "auth.pem", tmp_path / "auth.pub.pem"
    cli.run(["generate-keypair", "--private", str(private), "--public", str(public)])
    capsys.readouterr()
    monkeypatch.setenv("MYBROKER_AUTH_JWT_PRIVATE_KEY_PATH", str(private))
    cli.run(["public-key"])
    assert capsys.readouterr().out == public.read_text()


def test_a_signed_access_token_verifies_with_the_public_key(tmp_path: Path) -> None:
    private, public = tmp_path / "auth.pem", tmp_path / "auth.pub.pem"
    cli.run(["generate-keypair", "--private", str(private), "--public", str(public)])
    claims = AccessClaims(sub="u1", sid="s1", role=Role.CLIENT, email="jan@example.be",
                          name="Jan", dossiers=["D1"], iat=1_700_000_000, exp=4_000_000_000)
    token = AccessTokenSigner(load_private_key(private)).sign(claims)
    decoded = jwt.decode(token, public.read_bytes(), algorithms=["EdDSA"],
                         audience=ACCESS_TOKEN_AUDIENCE, issuer=ACCESS_TOKEN_ISSUER)
    assert AccessClaims.model_validate(decoded) == claims
    with pytest.raises(jwt.InvalidSignatureError):
        other = tmp_path / "other.pem"
        cli.run(["generate-keypair", "--private", str(other), "--public", str(tmp_path / "o")])
        jwt.decode(token, (tmp_path / "o").read_bytes(), algorithms=["EdDSA"],
                   audience=ACCESS_TOKEN_AUDIENCE)
