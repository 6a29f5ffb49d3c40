"""Secrets made fresh for each local stack: nothing secret is ever checked in or reused."""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass(frozen=True)
class SigningKeys:
    """The PEM files of the Ed25519 key auth signs access tokens with, and its public half."""

    private_key_path: Path
    public_key_path: Path


def write_signing_keys(directory: Path) -> SigningKeys:
    """A new Ed25519 keypair as PEM files (the private one readable by its owner only)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_path = directory / "jwt-private.pem"
    public_path = directory / "jwt-public.pem"
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as private_file:
        private_file.write(key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ))
    return SigningKeys(private_key_path=private_path, public_key_path=public_path)


def new_password() -> str:
    """A random password of 20 URL-safe characters (auth asks at least 12)."""
    return secrets.token_urlsafe(15)


def new_s3_keys() -> tuple[str, str]:
    """A random S3 access key and secret key."""
    return "mybroker" + secrets.token_hex(6), secrets.token_urlsafe(30)


def new_cursor_secret() -> str:
    """A random key for the HMAC of a service's page cursors (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)
