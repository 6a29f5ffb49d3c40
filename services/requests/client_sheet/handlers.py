"""Use cases of the client sheet (manual 4.5): show it prefilled, confirm it, the office's
questionnaire and lists, and the reminder of a due sheet."""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import resources
from typing import Protocol

from libs.contracts import dossier
from libs.contracts.caller import Caller
from libs.contracts.client_sheet import (
    AnswerValue,
    ClientSheet,
    ClientSheetDue,
    ClientSheetForm,
    ClientSheetQuery,
    ConfirmClientSheetRequest,
    ConfirmedClientSheet,
    DossierSheetLine,
    DossierSheets,
    DossierSheetsQuery,
    DueState,
    PublishQuestionnaireRequest,
    Questionnaire,
    QuestionnaireDraft,
    QuestionnaireQuery,
    SheetOverview,
    SheetOverviewQuery,
)
from libs.contracts.envelope import new_id, office_day, utc_now
from libs.servicekit.access import require_dossier_access, require_staff
from libs.servicekit.errors import Conflict, Forbidden, NotFound, RateLimited, ServiceError
from libs.servicekit.logs import correlation_id, get_logger
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.references import DossierReferenceCheck, RpcCalling
from services.requests.client_sheet.domain import (
    clean_answers,
    dossier_sources,
    due_state,
    prefill,
    reminder_period,
    validate_questionnaire,
)
from services.requests.client_sheet.store import ClientSheetStore, idempotency_value
from services.requests.store import SubmissionWindows
from services.requests.submission_limits import SubmissionLimit

log = get_logger(__name__)
SHIPPED_QUESTIONNAIRE = "questionnaire_v1.json"
RISK_OBJECTS_READ = dossier.MAX_PAGE_SIZE  # a household's risks fit one page
REMINDER_BATCH = 1000


def shipped_questionnaire() -> QuestionnaireDraft:
    """The questionnaire shipped with the service: version 1 until the office publishes one."""
    text = resources.files(__package__).joinpath(SHIPPED_QUESTIONNAIRE).read_text("utf-8")
    draft = QuestionnaireDraft.model_validate(json.loads(text))
    validate_questionnaire(draft)
    return draft


class RequestFiling(Protocol):
    """Files a confirmed sheet as a request of kind client_sheet ("Mijn aanvragen", pending);
    filing the same sheet twice files it once."""

    async def file_sheet(self, sheet: ClientSheet, correlation: str | None) -> None:
        """Store the sheet's request with its RequestSubmitted event."""
        ...


class ClientSheetHandlers:
    """One method per query or command of the client sheet."""

    def __init__(
        self, store: ClientSheetStore, filing: RequestFiling, rpc: RpcCalling, *,
        windows: SubmissionWindows, limit: SubmissionLimit, validity: timedelta,
        on_events_stored: Callable[[], None], clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._filing = filing
        self._rpc = rpc
        self._windows = windows
        self._limit = limit
        self._validity = validity
        self._on_events_stored = on_events_stored
        self._clock = clock

    async def prepare(self) -> None:
        """Store the shipped questionnaire as version 1 if none is stored yet."""
        await self._store.store_first_version(shipped_questionnaire(), self._clock())

    async def _questionnaire(self) -> Questionnaire:
        current = await self._store.current_questionnaire()
        if current is None:  # only before prepare() ran: store the shipped one now
            await self.prepare()
            current = await self._store.current_questionnaire()
            assert current is not None
        return current

    def _due(self, state: Document | None, now: datetime) -> DueState:
        if state is None:
            return due_state(None, now, self._validity, now)
        last = stored_utc(state["last_confirmed_at"]) if state.get("confirmed") else None
        return due_state(last, stored_utc(state["known_since"]), self._validity, now)

    async def _dossier_sources(self, caller: Caller, dossier_id: str
                               ) -> dict[str, AnswerValue]:
        """What the dossier service holds of the household; nothing while it is away (the
        client then fills in from the previous sheet or by hand)."""
        try:
            persons = await self._rpc.call(dossier.LIST_PERSONS, dossier.DossierQuery(
                caller=caller, dossier_id=dossier_id))
            risks = await self._rpc.call(dossier.LIST_RISK_OBJECTS, dossier.ListQuery(
                caller=caller, dossier_id=dossier_id, page_size=RISK_OBJECTS_READ))
        except ServiceError as error:
            log.warning("client sheet without the dossier's data", dossier_id=dossier_id,
                        code=str(error.code))
            return {}
        return dossier_sources(persons.persons, [line.risk_object for line in risks.items])

    async def client_sheet_due(self, query: ClientSheetQuery) -> DueState:
        """Whether the dossier's client sheet is due (the welcome page's tile)."""
        require_dossier_access(query.caller, query.dossier_id)
        now = self._clock()
        return self._due(await self._store.know_dossier(query.dossier_id, now), now)

    async def get_client_sheet(self, query: ClientSheetQuery) -> ClientSheetForm:
        """The sheet to review: the current questionnaire, prefilled, and whether it is due."""
        require_dossier_access(query.caller, query.dossier_id)
        now = self._clock()
        state = await self._store.know_dossier(query.dossier_id, now)
        questionnaire = await self._questionnaire()
        last = None
        if state.get("last_sheet_id"):
            last = await self._store.sheet(state["last_sheet_id"])
        sources = await self._dossier_sources(query.caller, query.dossier_id)
        answers = prefill(questionnaire, sources, last.answers if last else {}, office_day(now))
        return ClientSheetForm(dossier_id=query.dossier_id, questionnaire=questionnaire,
                               prefill=answers, due=self._due(state, now), last_sheet=last)

    async def confirm_client_sheet(self, request: ConfirmClientSheetRequest
                                   ) -> ConfirmedClientSheet:
        """The client confirms ("Bevestigen") their answers: stored as they are, for good, and
        sent to the office as a pending request."""
        caller = request.caller
        require_dossier_access(caller, request.dossier_id)
        if caller.is_staff:  # the client's own confirmation; the office cannot give it
            raise Forbidden("Only a client of the dossier may confirm its client sheet.")
        correlation = request.correlation_id or correlation_id.get()
        sheet_id = new_id()
        idempotency = idempotency_value(request.dossier_id, caller.user_id,
                                        request.idempotency_key, sheet_id)
        if request.idempotency_key and (
                earlier := await self._store.find_by_idempotency(idempotency)):
            await self._filing.file_sheet(earlier, correlation)  # in case it was cut short
            return ConfirmedClientSheet(sheet=earlier, created=False)
        questionnaire = await self._questionnaire()
        if request.questionnaire_version != questionnaire.version:
            raise Conflict("The client sheet's questions changed meanwhile; please review "
                           "them and confirm again.",
                           fields={"questionnaire_version": str(questionnaire.version)})
        now = self._clock()
        answers = clean_answers(questionnaire, request.answers, office_day(now))
        admission = await self._windows.take(f"client_sheet:{caller.user_id}", now, self._limit)
        if not admission.allowed:
            seconds = admission.retry_after_seconds
            raise RateLimited(f"Too many client sheets in a short time. Please try again in "
                              f"{seconds} seconds.", fields={"retry_after": str(seconds)})
        sheet = ClientSheet(
            sheet_id=sheet_id, dossier_id=request.dossier_id,
            questionnaire_version=questionnaire.version, answers=answers,
            confirmed_by=caller.user_id, confirmed_by_name=" ".join(request.sender_name.split()),
            confirmed_at=now, request_id=new_id())
        stored = await self._store.insert_sheet(sheet, idempotency)
        # The sheet first: a crash before its request is filed is mended by the retry above.
        await self._filing.file_sheet(stored, correlation)
        await self._store.record_confirmation(stored)
        self._on_events_stored()
        log.info("client sheet confirmed", dossier_id=stored.dossier_id,
                 sheet_id=stored.sheet_id, request_id=stored.request_id,
                 version=stored.questionnaire_version)
        return ConfirmedClientSheet(sheet=stored, created=stored.sheet_id == sheet_id)

    # --- the office ---------------------------------------------------------------------------

    async def get_questionnaire(self, query: QuestionnaireQuery) -> Questionnaire:
        """The current questionnaire, or the version asked for. Any caller: it is the form
        every client answers (the pages title a sheet's answers with the version it answered)."""
        if query.version is None:
            return await self._questionnaire()
        found = await self._store.questionnaire(query.version)
        if found is None:
            raise NotFound(f"The questionnaire has no version {query.version}.")
        return found

    async def publish_questionnaire(self, request: PublishQuestionnaireRequest) -> Questionnaire:
        """A new version of the questionnaire: sheets confirmed from now on answer it."""
        require_staff(request.caller)
        validate_questionnaire(request.draft)
        published = await self._store.publish(
            request.draft, self._clock(), request.publisher_name or request.caller.user_id)
        log.info("client sheet questionnaire published", version=published.version,
                 by=request.caller.user_id)
        return published

    async def list_dossier_sheets(self, query: DossierSheetsQuery) -> DossierSheets:
        """A dossier's confirmed sheets, newest first, and whether one is due (staff)."""
        require_staff(query.caller)
        now = self._clock()
        state = await self._store.dossier_state(query.dossier_id)
        if state is None:  # not seen yet (imported before this service knew dossiers)
            await DossierReferenceCheck(self._rpc).require_dossier(query.caller, query.dossier_id)
            state = await self._store.know_dossier(query.dossier_id, now)
        return DossierSheets(dossier_id=query.dossier_id, due=self._due(state, now),
                             sheets=await self._store.sheets_of(query.dossier_id))

    async def overview(self, query: SheetOverviewQuery) -> SheetOverview:
        """The known dossiers with their sheet state, due ones first (staff)."""
        require_staff(query.caller)
        now = self._clock()
        threshold = now - self._validity
        states = await self._store.dossier_states(
            confirmed_before=threshold if query.state == "due" else None,
            confirmed_since=threshold if query.state == "confirmed" else None, limit=query.limit)
        lines = [DossierSheetLine(
            dossier_id=state["_id"], due=self._due(state, now),
            last_sheet_id=state.get("last_sheet_id"),
            last_confirmed_by_name=state.get("last_confirmed_by_name", ""))
            for state in states]
        lines.sort(key=lambda line: (not line.due.due, line.dossier_id))
        return SheetOverview(dossiers=lines)

    # --- dossiers and reminders -------------------------------------------------------------

    async def on_dossier_changed(self, event: dossier.DossierChanged) -> None:
        """A dossier the office imported is known from then on: its sheet is due."""
        if event.dossier_id and event.change != "removed":
            await self._store.know_dossier(event.dossier_id, event.occurred_at)

    async def remind_due_sheets(self) -> int:
        """Emit ClientSheetDue for each due dossier whose current reminder period has none yet
        (any replica may run this: the (dossier, period) key lets one through)."""
        now = self._clock()
        emitted = 0
        after: str | None = None
        while batch := await self._store.dossier_states(
                confirmed_before=now - self._validity, after=after, limit=REMINDER_BATCH):
            after = batch[-1]["_id"]
            emitted += await self._remind(batch, now)
        if emitted:
            self._on_events_stored()
        return emitted

    async def _remind(self, states: list[Document], now: datetime) -> int:
        emitted = 0
        for state in states:
            due = self._due(state, now)
            if not due.due or due.due_since is None:
                continue
            period = reminder_period(due.due_since, self._validity, now)
            event = ClientSheetDue(
                dossier_id=state["_id"], due_since=due.due_since, period=period,
                last_confirmed_at=due.last_confirmed_at,
                last_confirmed_by=state.get("last_confirmed_by"))
            if await self._store.add_reminder(f"{state['_id']}\x1f{period.isoformat()}", event):
                emitted += 1
                log.info("client sheet due", dossier_id=state["_id"], period=period.isoformat(),
                         event_id=event.event_id)
        return emitted
