"""Ed25519 signing keys and the EdDSA-signed access tokens (JWT) made with them."""

import os
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from libs.contracts.auth import ACCESS_TOKEN_ALGORITHM, AccessClaims
from libs.servicekit.logs import get_logger
from services.auth.config import AuthSettings

log = get_logger(__name__)


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file at `path` (unencrypted PKCS#8)."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def signing_key_from_settings(settings: AuthSettings) -> Ed25519PrivateKey:
    """The configured key; dev and test fall back to a key that lives as long as the process."""
    if settings.jwt_private_key_path:
        return load_private_key(settings.jwt_private_key_path)
    if settings.environment == "prod":
        raise ValueError("MYBROKER_AUTH_JWT_PRIVATE_KEY_PATH must be set in production")
    log.warning(
        "no MYBROKER_AUTH_JWT_PRIVATE_KEY_PATH: signing with an ephemeral key; gateways cannot "
        "verify these tokens unless they get its public key"
    )
    return Ed25519PrivateKey.generate()


def public_key_pem(key: Ed25519PrivateKey) -> bytes:
    """The public half of `key` as a SubjectPublicKeyInfo PEM (what gateways verify with)."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """`key` as an unencrypted PKCS#8 PEM (the file is protected by its 0600 mode)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_key_pair(private_path: Path, public_path: Path) -> Ed25519PrivateKey:
    """Write a new key pair; the private key file is readable by its owner only."""
    key = Ed25519PrivateKey.generate()
    # Created with 0600 from the start: no moment where another user could read it.
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as private_file:
        private_file.write(private_key_pem(key))
    os.chmod(private_path, 0o600)  # an existing file keeps its mode on O_TRUNC
    public_path.write_bytes(public_key_pem(key))
    return key


class AccessTokenSigner:
    """Signs access-token claims with the service's Ed25519 key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @property
    def public_key_pem(self) -> bytes:
        """The PEM gateways verify these tokens with."""
        return public_key_pem(self._key)

    def sign(self, claims: AccessClaims) -> str:
        """The compact JWT of `claims`."""
        return jwt.encode(
            claims.model_dump(mode="json"), self._key, algorithm=ACCESS_TOKEN_ALGORITHM
        )
