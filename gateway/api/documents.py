"""A client's documents: the list, the content (streamed), and the documents to sign."""

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from gateway.deps import CurrentCaller, GrantedDossier, Rpc, State
from gateway.streaming import stream_download
from libs.contracts import documents, signing

router = APIRouter(prefix="/api/v1/dossiers/{dossier_id}", tags=["documents"])


@router.get("/documents")
async def list_documents(
    dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc
) -> documents.DocumentList:
    """The dossier's documents ("Mijn documenten")."""
    return await rpc.call(documents.LIST_DOCUMENTS, documents.ListDocumentsQuery(
        caller=claims.caller(), dossier_id=dossier_id))


@router.get(
    "/documents/{document_id}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}},
                     "description": "The document's body, with X-Content-SHA256"}},
)
async def download_document(
    dossier_id: GrantedDossier, document_id: str, claims: CurrentCaller, rpc: Rpc, state: State
) -> StreamingResponse:
    """The document's content, streamed from the document store."""
    ticket = await rpc.call(documents.OPEN_DOWNLOAD, documents.OpenDownloadRequest(
        caller=claims.caller(), dossier_id=dossier_id, document_id=document_id))
    return await stream_download(state.storage, ticket)


@router.get("/documents-to-sign")
async def list_documents_to_sign(
    dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc
) -> signing.DocumentsToSign:
    """Documents the broker asks the client to sign (the welcome page's section)."""
    return await rpc.call(signing.LIST_DOCUMENTS_TO_SIGN, signing.DocumentsToSignQuery(
        caller=claims.caller(), dossier_id=dossier_id))
