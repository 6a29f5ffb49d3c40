"""Bus entry points of the dossier service: thin, typed, each calls one handler."""

from faststream.rabbit import RabbitBroker

from libs.contracts import dossier
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.rpc import serve_rpc
from services.dossier.consultation import DossierConsultation
from services.dossier.handlers import DossierHandlers
from services.dossier.references import DossierReferences

SERVICE = "dossier"
# Every event the service's outbox publishes: the AsyncAPI document lists these as sent.
EMITS = (
    dossier.DossierImported, dossier.DossierChanged, dossier.PersonChanged,
    dossier.RiskObjectChanged, dossier.ContractChanged, dossier.ClaimChanged,
    dossier.InvoiceChanged,
)


def register(broker: RabbitBroker, handlers: DossierHandlers, consultation: DossierConsultation,
             references: DossierReferences, *, prefetch: int) -> None:
    """Wire every RPC method and event subscription of the service."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, dossier.IMPORT_DOSSIER, handlers.import_dossier, prefetch=prefetch)
    serve_rpc(broker, dossier.UPSERT_DOSSIER, handlers.upsert_dossier, prefetch=prefetch)
    serve_rpc(
        broker, dossier.GET_DOSSIER_SUMMARY, handlers.get_dossier_summary, prefetch=prefetch
    )
    serve_rpc(
        broker, dossier.LIST_DOSSIER_SUMMARIES, handlers.list_dossier_summaries,
        prefetch=prefetch,
    )
    serve_rpc(broker, dossier.LIST_CONTRACTS, handlers.list_contracts, prefetch=prefetch)
    serve_rpc(broker, dossier.LIST_PERSONS, consultation.list_persons, prefetch=prefetch)
    serve_rpc(broker, dossier.LIST_RISK_OBJECTS, consultation.list_risk_objects,
              prefetch=prefetch)
    serve_rpc(broker, dossier.GET_RISK_OBJECT, consultation.get_risk_object, prefetch=prefetch)
    serve_rpc(broker, dossier.LIST_CONTRACT_PAGE, consultation.list_contract_page,
              prefetch=prefetch)
    serve_rpc(broker, dossier.GET_CONTRACT, consultation.get_contract, prefetch=prefetch)
    serve_rpc(broker, dossier.LIST_CLAIMS, consultation.list_claims, prefetch=prefetch)
    serve_rpc(broker, dossier.GET_CLAIM, consultation.get_claim, prefetch=prefetch)
    serve_rpc(broker, dossier.LIST_INVOICES, consultation.list_invoices, prefetch=prefetch)
    serve_rpc(broker, dossier.CHECK_REFERENCES, references.check_references, prefetch=prefetch)
    serve_rpc(broker, dossier.SEARCH_DOSSIERS, references.search_dossiers, prefetch=prefetch)
