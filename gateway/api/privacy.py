"""Privacy through the JSON APIs: the access log ("Wie bekeek mijn dossier"), the erasure of a
dossier and of a client account (office admin), a client deleting their own login."""

from datetime import datetime
from typing import Annotated

from fastapi import Query, Request, Response, status
from pydantic import BaseModel, Field

from gateway.api_links import ADMIN, answer_links, link
from gateway.deps import (
    CurrentCaller,
    DossierIdPath,
    GrantedDossier,
    ObjectIdPath,
    Rpc,
    StaffCaller,
    origin_of,
)
from gateway.problems import api_router
from libs.contracts import privacy
from libs.contracts.ids import DossierId, ObjectId
from libs.servicekit.logs import correlation_id

router = api_router(prefix="/api/v1", tags=["privacy"])
admin_router = api_router(prefix="/admin/api/v1", tags=["admin"])
Before = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=200)]


class ClientAccessEntry(BaseModel):
    """One read of the client's dossier by the office: who, when, what."""

    staff_name: str
    at: datetime
    what: str = Field(description="The kind of page or call, e.g. "
                      "'/admin/api/v1/dossiers/{dossier_id}'")
    object_id: str | None = None


class ClientAccessLog(BaseModel):
    reads: list[ClientAccessEntry]
    next_before: str | None = None


class LoginDeletion(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


async def client_access_log(rpc: Rpc, claims: CurrentCaller, dossier_id: str,
                            before: str | None, limit: int) -> ClientAccessLog:
    """The reads of a dossier as its client sees them (no staff ids, no addresses)."""
    log = await rpc.call(privacy.LIST_STAFF_READS, privacy.StaffReadQuery(
        caller=claims.caller(), dossier_id=dossier_id, before=before, limit=limit))
    return ClientAccessLog(reads=[ClientAccessEntry(
        staff_name=read.staff_name, at=read.at, what=read.route_kind, object_id=read.object_id)
        for read in log.reads], next_before=log.next_before)


@router.get("/dossiers/{dossier_id}/access-log")
async def dossier_access_log(dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc,
                             before: Before = None, limit: Limit = 50) -> ClientAccessLog:
    """"Wie bekeek mijn dossier": which staff member read what of the dossier, and when."""
    return await client_access_log(rpc, claims, dossier_id, before, limit)


@router.post("/me/delete-login", status_code=status.HTTP_204_NO_CONTENT)
async def delete_own_login(body: LoginDeletion, claims: CurrentCaller, rpc: Rpc) -> Response:
    """Delete my own login (not the dossier, which is the office's): confirm with the
    password; every session ends and the office is told."""
    await rpc.call(privacy.DELETE_OWN_LOGIN, privacy.OwnLoginDeletion(
        caller=claims.caller(), password=body.password))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.get("/access-log")
async def staff_access_log(
    staff: StaffCaller, rpc: Rpc, dossier_id: Annotated[DossierId | None, Query()] = None,
    staff_id: Annotated[ObjectId | None, Query()] = None, before: Before = None,
    limit: Limit = 50,
) -> privacy.StaffReadLog:
    """The staff reads of dossiers: an agent their own, the office admin everyone's."""
    return await rpc.call(privacy.LIST_STAFF_READS, privacy.StaffReadQuery(
        caller=staff.caller(), dossier_id=dossier_id, staff_id=staff_id, before=before,
        limit=limit))


@admin_router.post("/dossiers/{dossier_id}/erasure", status_code=status.HTTP_202_ACCEPTED,
                   responses=answer_links(202, DossierErasure=link(
                       f"GET {ADMIN}/dossiers/{{dossier_id}}/erasure", "Its progress",
                       dossier_id="$request.path.dossier_id")))
async def erase_dossier(dossier_id: DossierIdPath, staff: StaffCaller, rpc: Rpc,
                        request: Request) -> privacy.DossierErasure:
    """Close and erase a whole dossier in every service (office admin); follow its progress
    at the same address with GET."""
    return await rpc.call(privacy.REQUEST_DOSSIER_ERASURE, privacy.DossierErasureRequest(
        caller=staff.caller(), dossier_id=dossier_id, origin=origin_of(request),
        correlation_id=correlation_id.get()))


@admin_router.get("/dossiers/{dossier_id}/erasure")
async def dossier_erasure(dossier_id: DossierIdPath, staff: StaffCaller,
                          rpc: Rpc) -> privacy.DossierErasure:
    """A dossier's erasure: each service's progress, then the report (deleted and kept)."""
    return await rpc.call(privacy.GET_DOSSIER_ERASURE, privacy.DossierErasureQuery(
        caller=staff.caller(), dossier_id=dossier_id))


@admin_router.get("/erasures")
async def erasures(staff: StaffCaller, rpc: Rpc) -> privacy.ErasureList:
    """The latest dossier erasures, newest first."""
    return await rpc.call(privacy.LIST_DOSSIER_ERASURES, privacy.ErasureListQuery(
        caller=staff.caller()))


@admin_router.post("/accounts/{user_id}/erasure")
async def erase_account(user_id: ObjectIdPath, staff: StaffCaller, rpc: Rpc,
                        request: Request) -> privacy.AccountErasureReport:
    """Erase a client account: login, sessions, preferences, links (office admin); the
    dossiers stay the office's."""
    return await rpc.call(privacy.ERASE_ACCOUNT, privacy.AccountErasureRequest(
        caller=staff.caller(), user_id=user_id, origin=origin_of(request)))
