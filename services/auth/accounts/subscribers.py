"""Bus entry points of accounts: staff, invitations, grants, the office lists of accounts."""

from faststream.rabbit import RabbitBroker

from libs.contracts import account_lists, auth
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.rpc import serve_rpc
from services.auth.accounts.actions import AccountHandlers
from services.auth.accounts.handlers import AuthHandlers
from services.auth.accounts.lists import AccountListHandlers

SERVICE = "auth"
EMITS = (auth.InvitationCreated, auth.GrantRevoked)  # through the outbox: AsyncAPI lists them


def register(broker: RabbitBroker, handlers: AuthHandlers, accounts: AccountHandlers,
             lists: AccountListHandlers, *, prefetch: int) -> None:
    """Wire the RPC methods of accounts (it consumes no events)."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, auth.CREATE_STAFF, handlers.create_staff, prefetch=prefetch)
    serve_rpc(broker, auth.INVITE_CLIENT, handlers.invite_client, prefetch=prefetch)
    serve_rpc(broker, auth.LOOK_UP_INVITATION, handlers.look_up_invitation, prefetch=prefetch)
    serve_rpc(broker, auth.ACTIVATE, handlers.activate, prefetch=prefetch)
    serve_rpc(broker, auth.GRANT_DOSSIER, handlers.grant_dossier, prefetch=prefetch)
    serve_rpc(broker, auth.REVOKE_DOSSIER, handlers.revoke_dossier, prefetch=prefetch)
    serve_rpc(broker, auth.GET_USER, handlers.get_user, prefetch=prefetch)
    serve_rpc(broker, auth.FIND_USER, handlers.find_user, prefetch=prefetch)
    serve_rpc(broker, auth.DISABLE_USER, accounts.disable_user, prefetch=prefetch)
    serve_rpc(broker, auth.RESEND_INVITATION, accounts.resend_invitation, prefetch=prefetch)
    serve_rpc(broker, auth.REVOKE_INVITATION, accounts.revoke_invitation, prefetch=prefetch)
    serve_rpc(broker, auth.LIST_DOSSIER_MEMBERS, accounts.list_dossier_members,
              prefetch=prefetch)
    serve_rpc(broker, account_lists.LIST_ACCOUNTS, lists.list_accounts, prefetch=prefetch)
    serve_rpc(broker, account_lists.LIST_INVITATIONS, lists.list_invitations, prefetch=prefetch)
