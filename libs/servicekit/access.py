"""The second authorization check, done by every service on the caller carried in the RPC."""

from libs.contracts.caller import Caller
from libs.servicekit.errors import Forbidden, NotFound


def require_dossier_access(caller: Caller, dossier_id: str) -> None:
    """Refuse a dossier the caller may not see, as "not found" so its existence is not revealed."""
    if not caller.may_see_dossier(dossier_id):
        raise NotFound("This dossier does not exist.")


def require_staff(caller: Caller) -> None:
    """Only the broker's staff (agent or admin) may do this."""
    if not caller.is_staff:
        raise Forbidden("Only the broker's staff may do this.")
