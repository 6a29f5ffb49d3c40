"""Who is calling: carried in every RPC request so each service re-checks authorization."""

from enum import StrEnum

from pydantic import BaseModel, Field


class Role(StrEnum):
    """A user's role. Staff roles reach only the admin routes."""

    CLIENT = "client"
    AGENT = "agent"  # broker staff: handles clients
    ADMIN = "admin"  # broker staff: office admin, also manages staff and settings


STAFF_ROLES = frozenset({Role.AGENT, Role.ADMIN})


class Caller(BaseModel):
    """The authenticated user on whose behalf a service is asked to act."""

    user_id: str
    role: Role
    dossier_ids: list[str] = Field(default_factory=list, description="Dossiers granted (clients)")

    @property
    def is_staff(self) -> bool:
        """True for the broker's staff (agent or admin)."""
        return self.role in STAFF_ROLES

    def may_see_dossier(self, dossier_id: str) -> bool:
        """Staff see every dossier of the office; a client only the dossiers granted to them."""
        return self.is_staff or dossier_id in self.dossier_ids
