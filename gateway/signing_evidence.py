"""What the gateway tells the signing service about a signer's request: where it came from,
when the signer last gave their password, and that a document was shown to them."""

from datetime import UTC, datetime

from fastapi import Request

from gateway.deps import RpcCaller
from gateway.web.audit_view import device_name
from libs.contracts import signing
from libs.contracts.auth import AccessClaims
from libs.servicekit.errors import ServiceError
from libs.servicekit.logs import get_logger

log = get_logger(__name__)


def evidence_of(request: Request) -> signing.SigningEvidence:
    """The IP address and the device (named as the audit log names it) of `request`."""
    user_agent = (request.headers.get("user-agent") or "")[:500] or None
    return signing.SigningEvidence(
        client_ip=request.client.host if request.client else None, user_agent=user_agent,
        device=device_name(user_agent, lambda text: text)[:200])


def authenticated_at(claims: AccessClaims) -> datetime | None:
    """When the session's login happened (None: a token from before the claim existed)."""
    return None if claims.auth_time is None else datetime.fromtimestamp(claims.auth_time, UTC)


def whole_body(range_header: str | None) -> bool:
    """A request for the document from its start (a viewer's first range, or all of it)."""
    return range_header is None or range_header.replace(" ", "").startswith("bytes=0-")


async def document_served(rpc: RpcCaller, claims: AccessClaims, request: Request, *,
                          dossier_id: str, document_id: str) -> signing.SignatureOffer | None:
    """Tell signing a client is shown a document (an open request for it counts as opened)
    and get the offer back; the document is shown anyway when signing is away."""
    if claims.caller().is_staff:
        return None
    try:
        reply = await rpc.call(signing.DOCUMENT_SERVED, signing.DocumentServed(
            caller=claims.caller(), dossier_id=dossier_id, document_id=document_id,
            evidence=evidence_of(request)))
    except ServiceError as error:
        log.warning("signing not told of a shown document", code=str(error.code))
        return None
    return reply.offer
