"""Bus entry points of the auth service: thin, typed, each calls one handler."""

from faststream.rabbit import RabbitBroker

from libs.contracts import account_lists, auth, lockout, office
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.rpc import serve_rpc
from services.auth.accounts.actions import AccountHandlers
from services.auth.accounts.handlers import AuthHandlers
from services.auth.accounts.lists import AccountListHandlers
from services.auth.audit.handlers import AuditLogHandlers
from services.auth.eid.handlers import EidHandlers
from services.auth.office.handlers import OfficeHandlers
from services.auth.passwords.handlers import PasswordHandlers
from services.auth.registration.handlers import RegistrationHandlers
from services.auth.sessions.handlers import LoginHandlers

SERVICE = "auth"
# Every event the service's outbox publishes: the AsyncAPI document lists these as sent.
EMITS = (
    auth.InvitationCreated, auth.SessionRevoked, auth.PasswordResetRequested,
    auth.PasswordChanged, auth.RegistrationConfirmationRequested, auth.RegistrationDecided,
    auth.EidLinked, auth.EidLinkRefused, lockout.LoginLockedOut, auth.GrantRevoked,
    office.OfficeSettingsChanged, auth.RegistrationPending, auth.EidLinkRequested,
)


def register(
    broker: RabbitBroker, handlers: AuthHandlers, logins: LoginHandlers,
    passwords: PasswordHandlers,
    registrations: RegistrationHandlers, accounts: AccountHandlers, eid: EidHandlers,
    lists: AccountListHandlers, audit_log: AuditLogHandlers, office_handlers: OfficeHandlers,
    *, prefetch: int,
) -> None:
    """Wire every RPC method of the service (auth consumes no events)."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, auth.CREATE_STAFF, handlers.create_staff, prefetch=prefetch)
    serve_rpc(broker, office.GET_OFFICE, office_handlers.get_office, prefetch=prefetch)
    serve_rpc(broker, office.UPDATE_OFFICE, office_handlers.update_office, prefetch=prefetch)
    serve_rpc(broker, auth.INVITE_CLIENT, handlers.invite_client, prefetch=prefetch)
    serve_rpc(broker, auth.LOOK_UP_INVITATION, handlers.look_up_invitation, prefetch=prefetch)
    serve_rpc(broker, auth.ACTIVATE, handlers.activate, prefetch=prefetch)
    serve_rpc(broker, auth.LOG_IN, logins.log_in, prefetch=prefetch)
    serve_rpc(broker, lockout.LOOK_UP_UNLOCK, logins.look_up_unlock, prefetch=prefetch)
    serve_rpc(broker, lockout.UNLOCK_LOG_IN, logins.unlock_log_in, prefetch=prefetch)
    serve_rpc(broker, auth.REFRESH, handlers.refresh, prefetch=prefetch)
    serve_rpc(broker, auth.LOG_OUT, handlers.log_out, prefetch=prefetch)
    serve_rpc(broker, auth.GRANT_DOSSIER, handlers.grant_dossier, prefetch=prefetch)
    serve_rpc(broker, auth.REVOKE_DOSSIER, handlers.revoke_dossier, prefetch=prefetch)
    serve_rpc(broker, auth.GET_USER, handlers.get_user, prefetch=prefetch)
    serve_rpc(broker, auth.FIND_USER, handlers.find_user, prefetch=prefetch)
    serve_rpc(broker, auth.LIST_REVOKED_SESSIONS, handlers.list_revoked_sessions,
              prefetch=prefetch)
    serve_rpc(broker, auth.REQUEST_PASSWORD_RESET, passwords.request_reset, prefetch=prefetch)
    serve_rpc(broker, auth.LOOK_UP_PASSWORD_RESET, passwords.look_up_reset, prefetch=prefetch)
    serve_rpc(broker, auth.RESET_PASSWORD, passwords.reset_password, prefetch=prefetch)
    serve_rpc(broker, auth.CHANGE_PASSWORD, passwords.change_password, prefetch=prefetch)
    serve_rpc(broker, auth.REGISTER, registrations.register, prefetch=prefetch)
    serve_rpc(broker, auth.LOOK_UP_REGISTRATION, registrations.look_up, prefetch=prefetch)
    serve_rpc(broker, auth.CONFIRM_REGISTRATION, registrations.confirm, prefetch=prefetch)
    serve_rpc(broker, auth.LIST_REGISTRATIONS, registrations.list_registrations,
              prefetch=prefetch)
    serve_rpc(broker, auth.APPROVE_REGISTRATION, registrations.approve, prefetch=prefetch)
    serve_rpc(broker, auth.REFUSE_REGISTRATION, registrations.refuse, prefetch=prefetch)
    serve_rpc(broker, auth.DISABLE_USER, accounts.disable_user, prefetch=prefetch)
    serve_rpc(broker, auth.RESEND_INVITATION, accounts.resend_invitation, prefetch=prefetch)
    serve_rpc(broker, auth.REVOKE_INVITATION, accounts.revoke_invitation, prefetch=prefetch)
    serve_rpc(broker, auth.LIST_AUDIT, audit_log.list_audit, prefetch=prefetch)
    serve_rpc(broker, auth.LIST_STAFF, audit_log.list_staff, prefetch=prefetch)
    serve_rpc(broker, auth.LIST_DOSSIER_MEMBERS, accounts.list_dossier_members,
              prefetch=prefetch)
    serve_rpc(broker, auth.EID_LOG_IN, eid.log_in, prefetch=prefetch)
    serve_rpc(broker, auth.REQUEST_EID_LINK, eid.request_link, prefetch=prefetch)
    serve_rpc(broker, auth.LIST_EID_LINKS, eid.list_links, prefetch=prefetch)
    serve_rpc(broker, auth.ACCEPT_EID_LINK, eid.accept_link, prefetch=prefetch)
    serve_rpc(broker, auth.REFUSE_EID_LINK, eid.refuse_link, prefetch=prefetch)
    serve_rpc(broker, account_lists.LIST_ACCOUNTS, lists.list_accounts, prefetch=prefetch)
    serve_rpc(broker, account_lists.LIST_INVITATIONS, lists.list_invitations, prefetch=prefetch)
