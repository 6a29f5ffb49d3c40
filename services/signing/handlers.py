"""Use cases of the signing service."""

from libs.contracts.signing import DocumentsToSign, DocumentsToSignQuery
from libs.servicekit.access import require_dossier_access
from services.signing.store import SigningStore


class SigningHandlers:
    """One method per query or command."""

    def __init__(self, store: SigningStore) -> None:
        self._store = store

    async def list_documents_to_sign(self, query: DocumentsToSignQuery) -> DocumentsToSign:
        """Documents the broker made available for signature in this dossier."""
        require_dossier_access(query.caller, query.dossier_id)
        return DocumentsToSign(documents=await self._store.list_open_for_dossier(query.dossier_id))
