"""Log in with the Belgian eID (manual 1.1, "Aanmelden met eID").

A checked card linked to an active account logs in. An unknown card gets a link token: the
holder gives an e-mail address, staff accept the link, a mail confirms it, and from then on
the card logs in. Links and card numbers are stored in `eid_links`; the number on the account.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509

from libs.contracts import auth
from libs.contracts.caller import Role
from libs.contracts.envelope import utc_now
from libs.contracts.rpc import Ack
from libs.servicekit.access import require_staff
from libs.servicekit.errors import Conflict, Gone, NotFound, Unauthenticated, Unavailable
from libs.servicekit.logs import correlation_id, get_logger
from libs.servicekit.mongo import Document, stored_utc
from services.auth.accounts.store import AuthStore
from services.auth.audit.trail import AuditTrail
from services.auth.domain import UserStatus, hash_token, new_secret_token, normalize_email
from services.auth.eid.domain import EidRefused, certificate_from_header, load_trust_bundle
from services.auth.eid.domain import verify_citizen_certificate as verify_card
from services.auth.eid.store import EidStore, link_public
from services.auth.sessions.keeper import SessionKeeper

log = get_logger(__name__)
LINK_TOKEN_LIFETIME = timedelta(minutes=30)
CARD_REFUSED = "This eID card cannot be used to log in."
NO_CARD = "No eID card was sent."
NOT_CONFIGURED = "Logging in with eID is not available."
SPENT_LINK = "This eID check has expired; please insert your card and start again."
NO_ACCOUNT = "No active client account has this e-mail address."
ALREADY_DECIDED = "This eID link request was decided already."


class EidHandlers:
    """eID login, link requests, and the staff's acceptance."""

    def __init__(
        self, links: EidStore, store: AuthStore, sessions: SessionKeeper,
        audit: AuditTrail, *, trust_bundle: list[x509.Certificate] | None,
        notify: Callable[[], None], clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._links = links
        self._store = store
        self._sessions = sessions
        self._audit = audit
        self._bundle = trust_bundle
        self._notify = notify
        self._clock = clock

    async def log_in(self, request: auth.EidLoginRequest) -> auth.EidLoginReply:
        """A checked card: logged in if linked, else a token to ask for the link."""
        if self._bundle is None:
            raise Unavailable(NOT_CONFIGURED)
        if not request.certificate_pem.strip():
            # The eID page asks so when the browser sent no card: on, but no card.
            raise Unauthenticated(NO_CARD)
        now = self._clock()
        try:
            identity = verify_card(certificate_from_header(request.certificate_pem),
                                   self._bundle, now)
        except EidRefused as refused:
            log.info("eID refused", reason=str(refused), client_ip=request.client_ip)
            raise Unauthenticated(refused.public, fields={
                auth.EID_REFUSAL_FIELD: refused.refusal.value}) from refused
        user_id = await self._links.user_id_of_card(identity.national_number)
        if user_id is not None:
            account = await self._store.find_user(user_id)
            if account is None or account.status is not UserStatus.ACTIVE:
                raise Unauthenticated(CARD_REFUSED)
            log.info("eID login", user_id=account.user_id)
            return auth.EidLoginReply(tokens=await self._sessions.open(account))
        token = new_secret_token()
        await self._links.insert_identified(
            hash_token(token), identity.national_number, identity.display_name, now,
            now + LINK_TOKEN_LIFETIME)
        return auth.EidLoginReply(link_token=token, display_name=identity.display_name)

    async def request_link(self, request: auth.EidLinkRequest) -> Ack:
        """The card holder names the account's address; staff decide (same answer for all)."""
        doc = await self._links.find_by_token(hash_token(request.link_token))
        if doc is None:
            raise NotFound(SPENT_LINK)
        if doc["status"] != "identified" or self._clock() >= stored_utc(doc["expires_at"]):
            raise Gone(SPENT_LINK)
        email = normalize_email(str(request.email))
        event = auth.EidLinkRequested(link_id=doc["_id"], email=email,
                                      display_name=doc["display_name"],
                                      correlation_id=correlation_id.get())
        if not await self._links.mark_requested(doc["_id"], email, event):
            raise Gone(SPENT_LINK)
        self._notify()  # the office is told a link waits for its decision
        log.info("eID link requested", link_id=doc["_id"])
        return Ack()

    async def list_links(self, request: auth.ListEidLinksRequest) -> auth.EidLinkList:
        """The link requests waiting for staff, oldest first."""
        require_staff(request.caller)
        return auth.EidLinkList(links=await self._links.requested())

    async def _requested_link(self, link_id: str) -> Document:
        """The link request still waiting for staff's decision."""
        doc = await self._links.find(link_id)
        if doc is None:
            raise NotFound("This eID link request does not exist.")
        if doc["status"] != "requested":
            raise Conflict(ALREADY_DECIDED)
        return doc

    async def accept_link(self, request: auth.AcceptEidLinkRequest) -> auth.EidLinkPublic:
        """Staff link the card to the client account of the given address; a mail confirms."""
        require_staff(request.caller)
        doc = await self._requested_link(request.link_id)
        account = await self._store.find_user_by_email(doc["email"])
        if account is None or account.role is not Role.CLIENT or (
                account.status is not UserStatus.ACTIVE):
            raise Conflict(NO_ACCOUNT)
        other = await self._links.user_id_of_card(doc["national_number"])
        if other is not None and other != account.user_id:
            raise Conflict("This eID card is linked to another account already.")
        await self._links.link_card(account.user_id, doc["national_number"])
        event = auth.EidLinked(
            link_id=doc["_id"], user_id=account.user_id, email=account.email,
            display_name=account.display_name, language=account.language,
            correlation_id=correlation_id.get())
        updated = await self._links.decide(
            doc["_id"], {"status": "accepted", "user_id": account.user_id,
                         "decided_by": request.caller.user_id, "decided_at": self._clock()},
            event)
        if updated is None:
            raise Conflict(ALREADY_DECIDED)
        self._notify()
        await self._audit.record(request.caller, request.origin, "eid.link.accept",
                                 account.user_id, link_id=doc["_id"])
        return link_public(updated)

    async def refuse_link(self, request: auth.RefuseEidLinkRequest) -> auth.EidLinkPublic:
        """Staff refuse a link request with a reason; the given address is mailed it."""
        require_staff(request.caller)
        doc = await self._requested_link(request.link_id)
        account = await self._store.find_user_by_email(doc["email"])
        event = auth.EidLinkRefused(
            link_id=doc["_id"], email=doc["email"], display_name=doc["display_name"],
            language=account.language if account is not None else "nl",
            reason=request.reason.strip(), correlation_id=correlation_id.get())
        updated = await self._links.decide(
            doc["_id"], {"status": "refused", "decided_by": request.caller.user_id,
                         "decided_at": self._clock()}, event)
        if updated is None:
            raise Conflict(ALREADY_DECIDED)
        self._notify()
        await self._audit.record(request.caller, request.origin, "eid.link.refuse",
                                 doc["email"], link_id=doc["_id"])
        return link_public(updated)


def trust_bundle_from(path: str) -> list[x509.Certificate] | None:
    """The configured eID trust bundle, or None (eID login disabled, said in the log) when none
    is configured or the file is absent: Kubernetes mounts the optional Secret mybroker-eid-ca
    only when it exists, and the rest of auth must start all the same. A bundle that is there
    but unreadable stops the start (an operator mistake to fix, not to hide)."""
    if not path:
        log.warning("eID login disabled: no eID trust bundle configured "
                    "(MYBROKER_AUTH_EID_TRUST_BUNDLE_PATH)")
        return None
    bundle = Path(path)
    if not bundle.exists():
        log.warning("eID login disabled: the eID trust bundle is absent "
                    "(Secret mybroker-eid-ca, key ca.crt)", path=path)
        return None
    return load_trust_bundle(bundle.read_bytes())
