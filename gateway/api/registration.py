"""Self-registration routes ("Zich inschrijven"): register, confirm the address, set a password."""

from fastapi import Request, status

from gateway.deps import Rpc
from gateway.problems import api_router
from libs.contracts import auth
from libs.contracts.rpc import Ack

router = api_router(prefix="/api/v1/auth", tags=["registration"])


@router.post("/register", status_code=status.HTTP_202_ACCEPTED)
async def register(body: auth.RegistrationCreate, request: Request, rpc: Rpc) -> Ack:
    """Ask for access; a confirmation link is mailed (the same answer for a known address)."""
    return await rpc.call(auth.REGISTER, auth.RegisterRequest(
        **body.model_dump(), client_ip=request.client.host if request.client else None))


@router.get("/registrations/{token}")
async def look_up_registration(token: str, rpc: Rpc) -> auth.RegistrationPreview:
    """What a confirmation link is for (404 unknown, 410 expired or used)."""
    return await rpc.call(auth.LOOK_UP_REGISTRATION, auth.RegistrationLookupRequest(token=token))


@router.post("/registrations/confirm", status_code=status.HTTP_202_ACCEPTED)
async def confirm_registration(body: auth.ConfirmRegistrationRequest, rpc: Rpc) -> Ack:
    """Confirm the address and choose the password; the broker then approves or refuses."""
    return await rpc.call(auth.CONFIRM_REGISTRATION, body)
