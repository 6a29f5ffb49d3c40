"""Signed paging cursors: a client hands back only a cursor the service made for that very list.

A keyset cursor holds the boundary row of a page, which the service turns into a database
bound. Left unsigned, a client could write any bound in it (a cursor whose key was "k" once
listed every dossier's contracts). So each cursor carries an HMAC-SHA256 of its text and of
its context - the list, the dossier or the filters it belongs to, the sort and the order - made
with a key of the service's settings; a cursor whose tag does not match (forged, edited, made
for another dossier or list, or under another key) is refused. The bounds of the query stay
clamped to the caller's range as well: the signature is one layer, not the only one.
"""

import base64
import hashlib
import hmac
import secrets
from typing import Annotated

from pydantic import AfterValidator, SecretStr

from libs.servicekit.errors import Invalid

MIN_SECRET_LENGTH = 32
TAG_BYTES = 32  # the whole SHA-256 tag: a cursor is not short enough to be worth truncating
SEPARATOR = "."
REFUSED = "This page link is damaged or out of date: open the list from its first page."


def _long_enough(secret: SecretStr) -> SecretStr:
    if 0 < len(secret.get_secret_value()) < MIN_SECRET_LENGTH:
        raise ValueError(f"a cursor secret has at least {MIN_SECRET_LENGTH} characters")
    return secret


CursorSecret = Annotated[SecretStr, AfterValidator(_long_enough)]
"""A settings field holding a cursor secret: empty (dev/test only) or long enough."""


class CursorRefused(Invalid):
    """A cursor that is not one the service made for this list (a 422 for the caller)."""


def cursor_key(secret: SecretStr, environment: str) -> bytes:
    """The signing key from a setting: the secret given, or outside production, when none is,
    a random one for this process (its cursors then work only with this process)."""
    value = _long_enough(secret).get_secret_value()
    if value:
        return value.encode()
    if environment == "prod":
        raise ValueError("the cursor secret must be set in production")
    return secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorSigner:
    """Signs and checks cursor texts under one key, each bound to its context."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_SECRET_LENGTH:
            raise ValueError(f"a cursor key has at least {MIN_SECRET_LENGTH} bytes")
        self._key = key

    def _tag(self, body: str, context: tuple[str, ...]) -> bytes:
        # Each part is length-prefixed: ("ab", "c") and ("a", "bc") sign differently.
        message = "".join(f"{len(part)}:{part}" for part in (*context, body))
        return hmac.new(self._key, message.encode("utf-8", "surrogatepass"),
                        hashlib.sha256).digest()

    def sign(self, payload: bytes, *context: str) -> str:
        """The URL-safe text of `payload` with its tag for `context`."""
        body = _b64(payload)
        return f"{body}{SEPARATOR}{_b64(self._tag(body, context))}"

    def verify(self, text: str, *context: str) -> bytes:
        """The payload of a cursor this signer made for `context`, else CursorRefused."""
        body, separator, tag_text = text.partition(SEPARATOR)
        try:
            tag = _unb64(tag_text)
            payload = _unb64(body)
        except ValueError:
            tag, payload = b"", b""
        if not separator or not hmac.compare_digest(tag, self._tag(body, context)):
            raise CursorRefused(REFUSED, fields={"cursor": "not a cursor of this list"})
        return payload
