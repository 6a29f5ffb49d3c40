"""Use cases of the forms: context, submission (idempotent), the claim's documents, drafts and
the office's feed of accepted data changes."""

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from libs.contracts import documents
from libs.contracts.caller import Caller
from libs.contracts.dossier import Person
from libs.contracts.envelope import new_id, office_day, utc_now
from libs.contracts.request_forms import (
    DATA_CHANGE_KINDS,
    AttachClaimDocuments,
    ChangesPage,
    ChangesQuery,
    ClaimContext,
    ClaimForm,
    ClaimRecord,
    ContractChoice,
    DataChange,
    DraftKey,
    DraftList,
    FamilyMemberForm,
    FamilyMemberKind,
    FormAbout,
    FormAboutKind,
    FormContext,
    FormContextQuery,
    FormDraft,
    FormKind,
    FormSubmitted,
    HouseholdMember,
    ListDraftsQuery,
    PersonalDataForm,
    RiskObjectChoice,
    SaveDraft,
    SubmitForm,
    status_note,
)
from libs.contracts.requests import (
    AboutKind,
    AttachmentRef,
    OfficeRequest,
    RequestAbout,
    RequestStatus,
    RequestStatusChanged,
)
from libs.contracts.rpc import Ack
from libs.servicekit.access import require_dossier_access, require_staff
from libs.servicekit.cursor_signing import CursorSigner
from libs.servicekit.errors import Conflict, Invalid, NotFound
from libs.servicekit.keyset import ListCursors
from libs.servicekit.logs import correlation_id, get_logger
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.references import RpcCalling
from services.requests import domain
from services.requests.forms import rules
from services.requests.forms.changes import data_change
from services.requests.forms.dossier_reader import DossierReader
from services.requests.forms.store import (
    DRAFT_LIFETIME,
    DataChangeStore,
    DraftStore,
    epoch_ms,
    feed_key,
)
from services.requests.store import RequestStore

log = get_logger(__name__)
CAS_ATTEMPTS = 5
CLAIM_ORIGINS = frozenset({FormAboutKind.GENERAL, FormAboutKind.RISK_OBJECT,
                           FormAboutKind.CONTRACT})
CHANGES_LIST = "data_changes"


def form_about(about: RequestAbout) -> FormAbout | None:
    """A request's `about` as the forms name it (None for what no form is about)."""
    try:
        return FormAbout(kind=FormAboutKind(about.kind.value), ref_id=about.ref_id,
                         label=about.label)
    except ValueError:
        return None


def submitted(request: OfficeRequest, *, created: bool, now: datetime) -> FormSubmitted:
    """The client's view of a stored form request."""
    return FormSubmitted(
        request_id=request.request_id, dossier_id=request.dossier_id, kind=request.kind,
        status=request.status, sent_at=request.sent_at, created=created,
        form=request.form or {}, about=form_about(request.about),
        status_note=status_note(request.kind, request.status),
        request=domain.for_client(request, now))


def _household(persons: list[Person]) -> list[HouseholdMember]:
    return [HouseholdMember(person_id=p.person_id, role=p.role, last_name=p.last_name,
                            first_name=p.first_name, birth_date=p.birth_date, address=p.address)
            for p in persons]


def _draft_key(key: DraftKey | SaveDraft) -> str:
    about = key.about.key if key.about is not None else "-"
    return "|".join((key.caller.user_id, key.dossier_id, key.kind.value, about))


def _draft(document: Document) -> FormDraft:
    about = document.get("about")
    return FormDraft(dossier_id=document["dossier_id"], kind=document["kind"],
                     about=FormAbout.model_validate(about) if about else None,
                     data=json.loads(document["data"]),
                     saved_at=stored_utc(document["saved_at"]),
                     expires_at=stored_utc(document["expires_at"]))


class FormHandlers:
    """One method per RPC of the forms."""

    def __init__(
        self, requests: RequestStore, drafts: DraftStore, changes: DataChangeStore,
        rpc: RpcCalling, *, on_events_stored: Callable[[], None],
        take_submission: Callable[[Caller], Awaitable[None]], cursor_signer: CursorSigner,
        levels: domain.ServiceLevels | None = None, clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._requests = requests
        self._levels = levels or domain.ServiceLevels()
        self._drafts = drafts
        self._changes = changes
        self._rpc = rpc
        self._dossier = DossierReader(rpc)
        self._on_events_stored = on_events_stored
        self._take_submission = take_submission
        self._cursors = ListCursors(cursor_signer, CHANGES_LIST)
        self._clock = clock

    # --- context ---------------------------------------------------------------------------

    async def form_context(self, query: FormContextQuery) -> FormContext:
        """What the form is prefilled with, as the office holds it (manual 4.1-4.4)."""
        require_dossier_access(query.caller, query.dossier_id)
        caller, dossier_id = query.caller, query.dossier_id
        persons = await self._dossier.persons(caller, dossier_id)
        context = FormContext(dossier_id=dossier_id, kind=query.kind, about=query.about,
                              household=_household(persons),
                              today=office_day(self._clock()))
        if query.kind == FormKind.PERSONAL_DATA:
            person = self._person(persons, query.about)
            context.person = person
            context.about = FormAbout(kind=FormAboutKind.PERSON, ref_id=person.person_id,
                                      label=rules.person_name(person))
        elif query.kind == FormKind.ADDRESS:
            holder = rules.declarant(rules.ClaimFacts(risk_objects={}, persons=persons), None)
            context.current_address = holder.address if holder else None
        elif query.kind == FormKind.FAMILY_MEMBER:
            context.family_member_kinds = list(FamilyMemberKind)
        else:
            facts, about = await self._claim_facts(caller, dossier_id, query.about, persons)
            offered, preselected = rules.claim_choices(facts, about)
            contract = facts.contract
            context.about = about
            context.claim = ClaimContext(
                general=rules.held_general(facts),
                risk_objects=[RiskObjectChoice(
                    risk_object_id=ref, kind=facts.risk_objects[ref].kind,
                    description=facts.risk_objects[ref].description) for ref in offered],
                preselected=preselected,
                contract=ContractChoice(
                    contract_id=contract.contract_id, policy_number=contract.policy_number,
                    insurer=contract.insurer, product=contract.product,
                    risk_object_ids=list(contract.risk_object_ids)) if contract else None,
                limited_to_contract=contract is not None)
        return context

    def _person(self, persons: list[Person], about: FormAbout | None) -> Person:
        """The person a personal-data form is about (default: the policyholder)."""
        if about is not None and about.kind == FormAboutKind.PERSON and about.ref_id:
            person = next((p for p in persons if p.person_id == about.ref_id), None)
        elif about is None or about.kind in (FormAboutKind.GENERAL,
                                             FormAboutKind.PERSONAL_DATA):
            person = rules.declarant(rules.ClaimFacts(risk_objects={}, persons=persons), None)
        else:
            raise Invalid("This form is about a person.", fields={"about": "person:<id>"})
        if person is None:
            raise NotFound("This person does not exist in the dossier.")
        return person

    async def _claim_facts(self, caller: Caller, dossier_id: str, about: FormAbout | None,
                           persons: list[Person]) -> tuple[rules.ClaimFacts, FormAbout | None]:
        if about is not None and about.kind not in CLAIM_ORIGINS:
            raise Invalid("A claim is declared from a risk object or a contract.",
                          fields={"about": "risk_object:<id> or contract:<id>"})
        contract = None
        if about is not None and about.kind == FormAboutKind.CONTRACT and about.ref_id:
            contract = await self._dossier.contract(caller, dossier_id, about.ref_id)
            about = about.model_copy(update={"label": contract.policy_number})
        risk_objects = await self._dossier.risk_objects(caller, dossier_id)
        facts = rules.ClaimFacts(risk_objects=risk_objects, persons=persons, contract=contract)
        rules.require_origin(about, facts)
        if about is not None and about.kind == FormAboutKind.RISK_OBJECT and about.ref_id:
            about = about.model_copy(update={
                "label": risk_objects[about.ref_id].description[:200]})
        return facts, about

    # --- submission ------------------------------------------------------------------------

    async def submit_form(self, command: SubmitForm) -> FormSubmitted:
        """Validate the form against the rules and the dossier, store it as a pending
        request and tell the office; the same idempotency key returns the first request."""
        caller, dossier_id = command.caller, command.dossier_id
        require_dossier_access(caller, dossier_id)
        if command.idempotency_key is not None:
            first = await self._requests.find_resubmitted(dossier_id, caller.user_id,
                                                          command.idempotency_key)
            if first is not None:
                return self._replayed(first, command.kind)
        payload = rules.parse_payload(command.kind, command.payload)
        now = self._clock()
        today = office_day(now)
        about: FormAbout | None = command.about
        record: Any
        if isinstance(payload, PersonalDataForm):
            persons = await self._dossier.persons(caller, dossier_id)
            person = self._person(persons, FormAbout(kind=FormAboutKind.PERSON,
                                                     ref_id=payload.person_id))
            record = rules.personal_data_record(payload, person, today)
            about = FormAbout(kind=FormAboutKind.PERSON, ref_id=person.person_id,
                              label=record.person_name[:200])
        elif isinstance(payload, FamilyMemberForm):
            record = rules.family_member_record(payload, today)
            about = FormAbout(kind=FormAboutKind.PERSONAL_DATA)
        elif isinstance(payload, ClaimForm):
            announced = [index for index, attachment in enumerate(payload.attachments)
                         if attachment.document_id is not None]
            if announced:
                raise Invalid("Send the files with the form.", fields={
                    f"attachments.{announced[0]}.document_id":
                        "files are uploaded with the declaration"})
            persons = await self._dossier.persons(caller, dossier_id)
            facts, about = await self._claim_facts(caller, dossier_id, about, persons)
            record = rules.claim_record(payload, facts, about, now)
        else:
            persons = await self._dossier.persons(caller, dossier_id)
            record = rules.address_record(payload, persons, today)  # type: ignore[arg-type]
            about = FormAbout(kind=FormAboutKind.PERSONAL_DATA)
        await self._take_submission(caller)
        shown_about = about or FormAbout()
        change = domain.open_request(
            request_id=new_id(), dossier_id=dossier_id, kind=command.kind.value, subject="",
            body=command.remark,
            about=RequestAbout(kind=AboutKind(shown_about.kind.value),
                               ref_id=shown_about.ref_id, label=shown_about.label),
            form=record.model_dump(mode="json"), attachments=[],
            sender=domain.Actor(caller.user_id, domain.clean_name(command.sender_name)),
            now=now, levels=self._levels,
            correlation_id=command.correlation_id or correlation_id.get())
        stored = await self._requests.insert(change.request, change.events,
                                             idempotency_key=command.idempotency_key)
        if stored.request_id != change.request.request_id:  # the same key, at the same time
            return self._replayed(stored, command.kind)
        self._on_events_stored()
        log.info("form submitted", dossier_id=dossier_id, request_id=stored.request_id,
                 kind=command.kind.value, event_id=change.events[0].event_id)
        return submitted(stored, created=True, now=now)

    def _replayed(self, first: OfficeRequest, kind: FormKind) -> FormSubmitted:
        domain.require_same_kind(first, kind)
        return submitted(first, created=False, now=self._clock())

    async def attach_claim_documents(self, command: AttachClaimDocuments) -> FormSubmitted:
        """The claim's uploaded files and its declaration PDF, once stored as documents of
        the request's context: recorded on the request (each attachment once)."""
        caller, dossier_id = command.caller, command.dossier_id
        require_dossier_access(caller, dossier_id)
        wanted = [ref for ref in [*command.document_ids, command.declaration_document_id]
                  if ref is not None]
        if wanted:
            listed = await self._rpc.call(documents.LIST_DOCUMENTS, documents.ListDocumentsQuery(
                caller=caller, dossier_id=dossier_id, page_size=documents.MAX_PAGE_SIZE,
                context=documents.DocumentContext(kind=documents.ContextKind.REQUEST,
                                                  ref_id=command.request_id)))
            known = {document.document_id for document in listed.documents}
            if unknown := [ref for ref in wanted if ref not in known]:
                raise Invalid("These documents are not attached to this request.",
                              fields={"document_ids": ", ".join(unknown)})
        for _ in range(CAS_ATTEMPTS):
            request = await self._requests.get(command.request_id)
            if request is None or request.dossier_id != dossier_id \
                    or request.kind != FormKind.CLAIM or request.sent_by != caller.user_id:
                raise NotFound("This request does not exist.")
            record = ClaimRecord.model_validate(request.form or {})
            ids = command.document_ids + [None] * (len(record.attachments)
                                                   - len(command.document_ids))
            attachments = rules.attachments_with_documents(record, ids)
            record = record.model_copy(update={
                "attachments": attachments,
                "declaration_document_id": record.declaration_document_id
                or command.declaration_document_id})
            entries = list(request.entries)
            if entries:
                known_refs = {ref.document_id for ref in entries[0].attachments}
                added = [AttachmentRef(document_id=a.document_id, filename=a.filename[:255],
                                       size=a.size, description=a.description[:500])
                         for a in attachments
                         if a.document_id is not None and a.document_id not in known_refs]
                entries[0] = entries[0].model_copy(update={
                    "attachments": [*entries[0].attachments, *added]})
            now = self._clock()
            after = request.model_copy(update={
                "form": record.model_dump(mode="json"), "entries": entries,
                "updated_at": now, "version": request.version + 1})
            if await self._requests.save(request, after):
                return submitted(after, created=False, now=now)
        raise Conflict("The request changed meanwhile; try again.")

    # --- drafts ----------------------------------------------------------------------------

    async def save_draft(self, command: SaveDraft) -> FormDraft:
        """Autosave: the draft replaces the previous one and lives 30 days from now."""
        require_dossier_access(command.caller, command.dossier_id)
        now = self._clock()
        stored = await self._drafts.save(_draft_key(command), {
            "user_id": command.caller.user_id, "dossier_id": command.dossier_id,
            "kind": command.kind.value,
            "about": command.about.model_dump(mode="json") if command.about else None,
            # As text: a draft's keys are the page's, never the database's operators.
            "data": json.dumps(command.data, ensure_ascii=False),
            "saved_at": now, "expires_at": now + DRAFT_LIFETIME,
            "saved_ms": epoch_ms(now), "expires_ms": epoch_ms(now + DRAFT_LIFETIME)})
        return _draft(stored)

    async def get_draft(self, key: DraftKey) -> FormDraft:
        require_dossier_access(key.caller, key.dossier_id)
        found = await self._drafts.get(_draft_key(key), self._clock())
        if found is None:
            raise NotFound("There is no draft of this form.")
        return _draft(found)

    async def delete_draft(self, key: DraftKey) -> Ack:
        require_dossier_access(key.caller, key.dossier_id)
        await self._drafts.delete(_draft_key(key))
        return Ack()

    async def list_drafts(self, query: ListDraftsQuery) -> DraftList:
        require_dossier_access(query.caller, query.dossier_id)
        found = await self._drafts.list(query.caller.user_id, query.dossier_id, self._clock())
        return DraftList(drafts=[_draft(document) for document in found])

    async def purge_drafts(self) -> int:
        """The periodic job: drafts 30 days after their last save are gone."""
        return await self._drafts.purge(self._clock())

    # --- the office's feed of accepted data changes ---------------------------------------

    async def on_status_changed(self, event: RequestStatusChanged) -> None:
        """An accepted personal-data, address or family-member request enters the office's
        feed (once: the change's id is the request's)."""
        if event.new_status != RequestStatus.ACCEPTED or event.kind not in DATA_CHANGE_KINDS:
            return
        request = await self._requests.get(event.request_id)
        if request is None or request.dossier_id != event.dossier_id:
            return
        recorded_at = self._clock()
        change = data_change(request_id=request.request_id, dossier_id=request.dossier_id,
                             kind=request.kind, form=request.form or {},
                             accepted_at=event.occurred_at, recorded_at=recorded_at)
        if change is None:
            return
        stored = change.model_dump(mode="json", exclude={"change_id"})
        stored.update({"_id": change.change_id,
                       "feed_key": feed_key(recorded_at, change.change_id)})
        if await self._changes.record(stored):
            log.info("accepted data change offered to the office's system",
                     dossier_id=request.dossier_id, request_id=request.request_id)

    async def changes_since(self, query: ChangesQuery) -> ChangesPage:
        """Staff: accepted data changes recorded after `since` (or after the cursor's row),
        oldest first."""
        require_staff(query.caller)
        if query.cursor is not None:
            after = self._cursors.open_text(query.cursor, caller=query.caller)
        elif query.since is not None:
            # Keys of the next millisecond on: strictly after `since`.
            after = f"{epoch_ms(query.since) + 1:015d}"
        else:
            after = ""
        rows = await self._changes.page(after, query.limit + 1)
        more = len(rows) > query.limit
        rows = rows[:query.limit]
        items = [DataChange.model_validate({**row, "change_id": row["_id"]}) for row in rows]
        next_cursor = None
        if more and rows:
            next_cursor = self._cursors.sign(str(rows[-1]["feed_key"]).encode())
        return ChangesPage(items=items, next_cursor=next_cursor)
