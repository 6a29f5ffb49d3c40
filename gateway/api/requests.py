"""A client's requests and free messages to the office ("Mijn aanvragen")."""

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from gateway.deps import CurrentCaller, GrantedDossier, Rpc
from libs.contracts import requests
from libs.servicekit.logs import correlation_id

router = APIRouter(prefix="/api/v1/dossiers/{dossier_id}", tags=["requests"])


class MessageCreate(BaseModel):
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10_000)


@router.post("/messages", status_code=status.HTTP_201_CREATED)
async def send_message(
    dossier_id: GrantedDossier, message: MessageCreate, claims: CurrentCaller, rpc: Rpc
) -> requests.RequestPublic:
    """Send a free message to the office; it starts as pending."""
    return await rpc.call(requests.SEND_MESSAGE, requests.SendMessageRequest(
        caller=claims.caller(), dossier_id=dossier_id, subject=message.subject,
        body=message.body, sender_name=claims.name, correlation_id=correlation_id.get()))


@router.get("/requests")
async def list_requests(
    dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc, status: str | None = None
) -> requests.RequestList:
    """Requests and messages sent in this dossier, optionally only those with `status`."""
    return await rpc.call(requests.LIST_REQUESTS, requests.ListRequestsQuery(
        caller=claims.caller(), dossier_id=dossier_id, status=status))
