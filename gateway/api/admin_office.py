"""Admin API of the office settings: staff read them, the office admin changes them (auth
re-checks the role, checks every field and answers a stale version with 409)."""

from fastapi import Request, status
from pydantic import BaseModel, Field

from gateway.deps import Rpc, StaffCaller, State, origin_of
from gateway.problems import api_router
from gateway.streaming import receive_upload
from gateway.web.office_assets import MAX_LOGO_BYTES, remove_logo, store_logo
from libs.contracts import office
from libs.contracts.caller import Role
from libs.servicekit.errors import Forbidden

router = api_router(prefix="/admin/api/v1", tags=["admin: office"])
ADMIN_ONLY = "Only the office admin may change the office settings."


class OfficeUpdate(office.OfficeSettings):
    """The settings to store, and the version they were read at (compare-and-set)."""

    expected_version: int | None = Field(default=None, ge=0)


class LogoRemoval(BaseModel):
    expected_version: int = Field(ge=0)


@router.get("/office")
async def get_office(_: StaffCaller, rpc: Rpc) -> office.OfficeSettingsPublic:
    """The office settings as stored, with their version."""
    return await rpc.call(office.GET_OFFICE, office.GetOfficeRequest())


@router.put("/office")
async def update_office(body: OfficeUpdate, claims: StaffCaller, rpc: Rpc, state: State,
                        request: Request) -> office.OfficeSettingsPublic:
    """Replace the settings (office admin); refused fields come back per field in `errors`,
    e.g. `colours.primary` with its measured contrast."""
    if claims.role != Role.ADMIN:
        raise Forbidden(ADMIN_ONLY)
    settings = office.OfficeSettings(**body.model_dump(exclude={"expected_version"}))
    updated = await rpc.call(office.UPDATE_OFFICE, office.UpdateOfficeRequest(
        caller=claims.caller(), settings=settings, expected_version=body.expected_version,
        origin=origin_of(request)))
    state.office.offer(updated)  # this instance shows it at once; the others on the event
    return updated


@router.post(
    "/office/logo",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"}}}}}}},
)
async def upload_logo(request: Request, claims: StaffCaller, state: State
                      ) -> office.OfficeSettingsPublic:
    """A new logo (office admin; multipart `file`): PNG or JPEG, at most 512 KB and 2000
    pixels a side."""
    if claims.role != Role.ADMIN:
        raise Forbidden(ADMIN_ONLY)
    upload = await receive_upload(request, max_bytes=MAX_LOGO_BYTES,
                                  memory_bytes=state.settings.upload_memory_bytes)
    try:
        return await store_logo(state, claims.caller(), upload, origin_of(request))
    finally:
        upload.close()


@router.post("/office/logo/remove")
async def delete_logo(body: LogoRemoval, claims: StaffCaller, state: State,
                      request: Request) -> office.OfficeSettingsPublic:
    """Show no logo any more (office admin)."""
    if claims.role != Role.ADMIN:
        raise Forbidden(ADMIN_ONLY)
    return await remove_logo(state.rpc, state.office, claims.caller(), origin_of(request),
                             body.expected_version)
