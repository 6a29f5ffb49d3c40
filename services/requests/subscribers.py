"""Bus entry points of the requests service: thin, typed, each calls one handler."""

from faststream.rabbit import RabbitBroker

from libs.contracts import request_forms, requests
from libs.servicekit.bus import declare_emitted_events, subscribe_event
from libs.servicekit.rpc import serve_rpc
from services.requests.forms.handlers import FormHandlers
from services.requests.handlers import RequestHandlers

SERVICE = "requests"
# Every event the service's outbox publishes: the AsyncAPI document lists these as sent.
EMITS = (requests.RequestSubmitted, requests.RequestReplied, requests.RequestStatusChanged,
         requests.RequestAssigned)


def register(broker: RabbitBroker, handlers: RequestHandlers, *, prefetch: int) -> None:
    """Wire every RPC method and event subscription of the service."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, requests.SEND_MESSAGE, handlers.send_message, prefetch=prefetch)
    serve_rpc(broker, requests.LIST_REQUESTS, handlers.list_requests, prefetch=prefetch)
    serve_rpc(broker, requests.ADMIT_ATTACHMENT, handlers.admit_attachment, prefetch=prefetch)
    serve_rpc(broker, requests.GET_REQUEST, handlers.get_request, prefetch=prefetch)
    serve_rpc(broker, requests.FIND_RESUBMITTED, handlers.find_resubmitted, prefetch=prefetch)
    serve_rpc(broker, requests.REPLY, handlers.reply, prefetch=prefetch)
    serve_rpc(broker, requests.ATTACH, handlers.attach, prefetch=prefetch)
    serve_rpc(broker, requests.DESK_LIST, handlers.desk_list, prefetch=prefetch)
    serve_rpc(broker, requests.DESK_GET, handlers.desk_get, prefetch=prefetch)
    serve_rpc(broker, requests.TAKE, handlers.take, prefetch=prefetch)
    serve_rpc(broker, requests.REASSIGN, handlers.reassign, prefetch=prefetch)
    serve_rpc(broker, requests.ANSWER, handlers.answer, prefetch=prefetch)
    serve_rpc(broker, requests.SET_STATUS, handlers.set_status, prefetch=prefetch)
    serve_rpc(broker, requests.ADD_NOTE, handlers.add_note, prefetch=prefetch)


def register_forms(broker: RabbitBroker, forms: FormHandlers, *, prefetch: int) -> None:
    """The forms' RPC methods (manual 4.1-4.4, drafts, the office's feed of data changes)."""
    serve_rpc(broker, request_forms.SUBMIT_FORM, forms.submit_form, prefetch=prefetch)
    serve_rpc(broker, request_forms.FORM_CONTEXT, forms.form_context, prefetch=prefetch)
    serve_rpc(broker, request_forms.ATTACH_CLAIM_DOCUMENTS, forms.attach_claim_documents,
              prefetch=prefetch)
    serve_rpc(broker, request_forms.SAVE_DRAFT, forms.save_draft, prefetch=prefetch)
    serve_rpc(broker, request_forms.GET_DRAFT, forms.get_draft, prefetch=prefetch)
    serve_rpc(broker, request_forms.DELETE_DRAFT, forms.delete_draft, prefetch=prefetch)
    serve_rpc(broker, request_forms.LIST_DRAFTS, forms.list_drafts, prefetch=prefetch)
    serve_rpc(broker, request_forms.CHANGES_SINCE, forms.changes_since, prefetch=prefetch)
    # An accepted data change is offered to the office's system (its own queue: idempotent).
    subscribe_event(broker, consumer=SERVICE, purpose="data_changes",
                    event_type=requests.RequestStatusChanged, handle=forms.on_status_changed)
