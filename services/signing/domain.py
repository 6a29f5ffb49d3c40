"""Rules of electronic signature requests (signing itself is not built yet)."""

from enum import StrEnum


class SignatureStatus(StrEnum):
    """Where a signature request stands."""

    AWAITING_CLIENT = "awaiting_client"  # listed under "documents to sign" on the welcome page
    SIGNED = "signed"
    # manual 5: no mobile signature on a PC -> the document awaits the broker
    AWAITING_BROKER = "awaiting_broker"


OPEN_STATUSES = (SignatureStatus.AWAITING_CLIENT,)
