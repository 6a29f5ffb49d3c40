"""Self-registration routes ("Zich inschrijven"): register, confirm the address, set a password."""

from datetime import date

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, EmailStr, Field

from gateway.deps import Rpc
from libs.contracts import auth
from libs.contracts.rpc import Ack

router = APIRouter(prefix="/api/v1/auth", tags=["registration"])


class RegistrationBody(BaseModel):
    last_name: str = Field(min_length=1, max_length=100)
    first_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    email: EmailStr
    phone: str = Field(min_length=6, max_length=30)
    national_number: str | None = Field(default=None, max_length=20)
    message: str | None = Field(default=None, max_length=2000)
    language: str = Field(default="nl", pattern="^(nl|fr|en)$")


class ConfirmRegistrationBody(BaseModel):
    token: str = Field(min_length=1)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/register", status_code=status.HTTP_202_ACCEPTED)
async def register(body: RegistrationBody, request: Request, rpc: Rpc) -> Ack:
    """Ask for access; a confirmation link is mailed (the same answer for a known address)."""
    return await rpc.call(auth.REGISTER, auth.RegisterRequest(
        **body.model_dump(), client_ip=request.client.host if request.client else None))


@router.get("/registrations/{token}")
async def look_up_registration(token: str, rpc: Rpc) -> auth.RegistrationPreview:
    """What a confirmation link is for (404 unknown, 410 expired or used)."""
    return await rpc.call(auth.LOOK_UP_REGISTRATION, auth.RegistrationLookupRequest(token=token))


@router.post("/registrations/confirm", status_code=status.HTTP_202_ACCEPTED)
async def confirm_registration(body: ConfirmRegistrationBody, rpc: Rpc) -> Ack:
    """Confirm the address and choose the password; the broker then approves or refuses."""
    return await rpc.call(auth.CONFIRM_REGISTRATION, auth.ConfirmRegistrationRequest(
        token=body.token, password=body.password))
