"""The ids MyBroker accepts from outside: one strict format for dossiers and for objects.

A dossier id is the broker's number ("DOS-2019-00417"); an object id is the broker's id of a
person, risk object, contract, claim or invoice ("C-00417-AUTO"), or one of ours (a uuid hex:
documents, requests, accounts). Both are letters, digits, "-", "_" and "." only, at most 64:
no "$" or "." at the start (Mongo operators and paths), no ":" (the dossier service joins
"<dossier>:<object>" into one key), no NUL, no 5,000-character keys. Every contract and every
gateway path parameter uses these types, so a hostile id is refused (422) where it comes in
and again by the service that reads the contract.
"""

from typing import Annotated

from pydantic import StringConstraints

ID_MAX_LENGTH = 64
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

DossierId = Annotated[
    str, StringConstraints(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
"""A dossier's number, as the broker's management system gives it."""

ObjectId = Annotated[
    str, StringConstraints(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
"""The id of an object: a dossier's person, risk object, contract, claim or invoice (the
broker's), or a document, request or account (ours)."""

FIELD_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"

FieldName = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                             pattern=FIELD_NAME_PATTERN)]
"""The name of a field the broker's system sends in a free map (a risk object's `details`): it
becomes a key of a stored document, so no "$", no ".", no NUL (the database refuses a NUL key)."""
