"""Typed error codes that travel in RPC replies; the gateway maps each to one HTTP status."""

from enum import StrEnum


class ErrorCode(StrEnum):
    """What went wrong, in terms a caller can act on."""

    INVALID = "invalid"  # the request breaks a rule (422)
    UNAUTHENTICATED = "unauthenticated"  # bad credentials or token (401)
    FORBIDDEN = "forbidden"  # known caller, not allowed (403)
    NOT_FOUND = "not_found"  # absent, or not visible to this caller (404)
    CONFLICT = "conflict"  # clashes with the current state (409)
    GONE = "gone"  # existed but expired or was used (410)
    RATE_LIMITED = "rate_limited"  # too many attempts (429)
    UNAVAILABLE = "unavailable"  # a dependency is down or timed out (503)
    INTERNAL = "internal"  # a bug; details are in the service's log (500)
