"""Bus entry points of the notifier: each event type on its own durable queue; staff's RPCs on
uncertain mails."""

from faststream.rabbit import RabbitBroker

from libs.contracts import notifier
from libs.contracts.auth import (
    EidLinked,
    EidLinkRefused,
    EidLinkRequested,
    InvitationCreated,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationConfirmationRequested,
    RegistrationDecided,
    RegistrationPending,
)
from libs.contracts.client_sheet import ClientSheetDue
from libs.contracts.documents import DocumentsBatchPublished
from libs.contracts.lockout import LoginLockedOut
from libs.contracts.requests import RequestReplied, RequestStatusChanged, RequestSubmitted
from libs.contracts.signing import (
    SignatureCancelled,
    SignatureCompleted,
    SignatureRefused,
    SignerInvited,
)
from libs.contracts.sms import SEND_SMS
from libs.servicekit.bus import subscribe_event
from libs.servicekit.rpc import serve_rpc
from services.notifier.delivery_log import DeliveryLog
from services.notifier.handlers import NotifierHandlers
from services.notifier.mail_problems import MailProblems
from services.notifier.preferences import Preferences
from services.notifier.sms_handlers import SmsHandlers

CONSUMER = "notifier"


def register(
    broker: RabbitBroker, handlers: NotifierHandlers, problems: MailProblems, *, prefetch: int,
    rpc_prefetch: int,
) -> None:
    """Wire every event subscription and RPC method of the service."""
    serve_rpc(broker, notifier.LIST_MAIL_PROBLEMS, problems.list_mail_problems,
              prefetch=rpc_prefetch)
    serve_rpc(broker, notifier.RESEND_MAIL, problems.resend_mail, prefetch=rpc_prefetch)
    subscribe_event(
        broker, consumer=CONSUMER, purpose="invitation-mails", event_type=InvitationCreated,
        handle=handlers.send_invitation_mail, prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="request-mails", event_type=RequestSubmitted,
        handle=handlers.tell_office_of_submission, prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="request-reply-mails", event_type=RequestReplied,
        handle=handlers.handle_reply, prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="request-status-mails",
        event_type=RequestStatusChanged, handle=handlers.handle_status_change,
        prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="client-sheet-reminders", event_type=ClientSheetDue,
        handle=handlers.send_client_sheet_reminders, prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="password-reset-mails",
        event_type=PasswordResetRequested, handle=handlers.send_password_reset_mail,
        prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="password-changed-mails", event_type=PasswordChanged,
        handle=handlers.send_password_changed_mail, prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="login-locked-mails", event_type=LoginLockedOut,
        handle=handlers.send_login_locked_mail, prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="registration-confirmation-mails",
        event_type=RegistrationConfirmationRequested,
        handle=handlers.send_registration_confirmation_mail, prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="registration-decision-mails",
        event_type=RegistrationDecided, handle=handlers.send_registration_decision_mail,
        prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="eid-linked-mails", event_type=EidLinked,
        handle=handlers.send_eid_linked_mail, prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="eid-link-refused-mails", event_type=EidLinkRefused,
        handle=handlers.send_eid_link_refused_mail, prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="registration-pending-mails",
        event_type=RegistrationPending, handle=handlers.tell_office_of_registration,
        prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="eid-link-requested-mails",
        event_type=EidLinkRequested, handle=handlers.tell_office_of_eid_link, prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="documents-published-mails",
        event_type=DocumentsBatchPublished, handle=handlers.send_documents_published_mails,
        prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="signer-invited-mails", event_type=SignerInvited,
        handle=handlers.send_signer_invited_mails, prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="signature-completed-mails",
        event_type=SignatureCompleted, handle=handlers.send_signature_completed_mails,
        prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="signature-refused-mails",
        event_type=SignatureRefused, handle=handlers.send_signature_refused_mail,
        prefetch=prefetch,
    )
    subscribe_event(
        broker, consumer=CONSUMER, purpose="signature-cancelled-mails",
        event_type=SignatureCancelled, handle=handlers.send_signature_cancelled_mails,
        prefetch=prefetch,
    )


def register_mail_log(broker: RabbitBroker, delivery_log: DeliveryLog, preferences: Preferences,
                      *, rpc_prefetch: int) -> None:
    """Staff's delivery log per dossier; the clients' own mail preferences."""
    serve_rpc(broker, notifier.LIST_DOSSIER_MAILS, delivery_log.list_dossier_mails,
              prefetch=rpc_prefetch)
    serve_rpc(broker, notifier.RESEND_LOGGED_MAIL, delivery_log.resend_logged_mail,
              prefetch=rpc_prefetch)
    serve_rpc(broker, notifier.GET_PREFERENCES, preferences.get_preferences,
              prefetch=rpc_prefetch)
    serve_rpc(broker, notifier.SAVE_PREFERENCES, preferences.save_preferences,
              prefetch=rpc_prefetch)


def register_sms(broker: RabbitBroker, sms: SmsHandlers, *, prefetch: int) -> None:
    """Answer the SMS port's RPC (the signing service's identity codes)."""
    serve_rpc(broker, SEND_SMS, sms.send_sms, prefetch=prefetch)
