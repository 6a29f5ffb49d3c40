"""eID login routes: the card checked by auth, and the request to link an unknown card."""

from fastapi import Request, status
from pydantic import BaseModel, EmailStr, Field

from gateway.deps import Rpc, State
from gateway.eid import forwarded_certificate
from gateway.problems import api_router
from libs.contracts import auth
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Unauthenticated

router = api_router(prefix="/api/v1/auth/eid", tags=["eid"])


class EidLinkBody(BaseModel):
    link_token: str = Field(min_length=1)
    email: EmailStr


@router.post("/login")
async def eid_log_in(request: Request, rpc: Rpc, state: State) -> auth.EidLoginReply:
    """Log in with the card the proxy checked; an unknown card gets a link token instead."""
    certificate = forwarded_certificate(request, state.settings)
    if certificate is None:
        raise Unauthenticated("No eID card was presented.")
    return await rpc.call(auth.EID_LOG_IN, auth.EidLoginRequest(
        certificate_pem=certificate,
        client_ip=request.client.host if request.client else None))


@router.post("/link", status_code=status.HTTP_202_ACCEPTED)
async def request_eid_link(body: EidLinkBody, rpc: Rpc) -> Ack:
    """Ask staff to link the checked card to the account of this address."""
    return await rpc.call(auth.REQUEST_EID_LINK, auth.EidLinkRequest(
        link_token=body.link_token, email=body.email))
