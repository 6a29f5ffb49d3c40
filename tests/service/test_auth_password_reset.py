"""Forgotten and changed passwords (manual 1.2): a mailed single-use link; other sessions end."""

import statistics
import time
from datetime import timedelta

import pytest

from libs.contracts import auth
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Gone, Invalid, NotFound, RateLimited, Unauthenticated
from libs.servicekit.outbox import OUTBOX_FIELD
from services.auth.accounts.store import USERS
from services.auth.domain import COMMON_PASSWORD, WRONG_CREDENTIALS, hash_token
from services.auth.main import AuthService
from services.auth.passwords.handlers import WRONG_CURRENT_PASSWORD
from services.auth.passwords.store import PASSWORD_RESETS
from tests.service.conftest import call_in_memory
from tests.service.test_auth import PASSWORD, activate, claims_of, invite

EMAIL = "jan.peeters@example.be"
NEW_PASSWORD = "zeedijk 112 de panne"


async def active_client(service: AuthService) -> tuple[str, auth.TokenPair]:
    invitation, token = await invite(service, email=EMAIL)
    return invitation.user_id, await activate(service, token)


async def ask_reset(service: AuthService, email: str = EMAIL) -> None:
    await call_in_memory(service.runtime.broker, auth.REQUEST_PASSWORD_RESET,
                         auth.PasswordResetRequest(email=email))
    await service.background.settle()


async def reset_links(service: AuthService) -> list[auth.PasswordResetRequested]:
    """The reset events stored for the notifier, oldest first."""
    events = []
    async for doc in service.runtime.database[PASSWORD_RESETS].find({}).sort("created_at", 1):
        for entry in (doc.get(OUTBOX_FIELD) or {}).values():
            events.append(auth.PasswordResetRequested.model_validate(entry["payload"]))
    return events


async def reset(service: AuthService, token: str, password: str = NEW_PASSWORD) -> auth.TokenPair:
    return await call_in_memory(service.runtime.broker, auth.RESET_PASSWORD,
                                auth.ResetPasswordRequest(token=token, password=password))


async def log_in(service: AuthService, password: str) -> auth.TokenPair:
    return await call_in_memory(service.runtime.broker, auth.LOG_IN,
                                auth.LoginRequest(email=EMAIL, password=password))


async def refresh(service: AuthService, pair: auth.TokenPair) -> auth.TokenPair:
    return await call_in_memory(service.runtime.broker, auth.REFRESH,
                                auth.RefreshRequest(refresh_token=pair.refresh_token))


async def password_changed_events(service: AuthService, user_id: str) -> list[str]:
    doc = await service.runtime.database[USERS].find_one({"_id": user_id})
    assert doc is not None
    return [entry["payload"]["how"] for entry in (doc.get(OUTBOX_FIELD) or {}).values()
            if entry["routing_key"] == auth.PasswordChanged.routing_key]


# --- reset by mail link -----------------------------------------------------------------------

async def test_a_reset_link_sets_a_new_password_and_ends_every_other_session(
    service: AuthService,
) -> None:
    user_id, first_session = await active_client(service)
    await ask_reset(service)
    [link] = await reset_links(service)
    assert (link.user_id, link.email) == (user_id, EMAIL)
    assert timedelta(minutes=29) < link.expires_at - utc_now() <= timedelta(minutes=30)

    preview = await call_in_memory(service.runtime.broker, auth.LOOK_UP_PASSWORD_RESET,
                                   auth.PasswordResetLookupRequest(token=link.reset_token))
    assert preview.email == EMAIL
    new_session = await reset(service, link.reset_token)

    assert claims_of(service, new_session).sub == user_id
    with pytest.raises(Unauthenticated):
        await refresh(service, first_session)  # the session from before the reset ended
    await refresh(service, new_session)
    with pytest.raises(Unauthenticated, match=WRONG_CREDENTIALS):
        await log_in(service, PASSWORD)
    await log_in(service, NEW_PASSWORD)
    assert await password_changed_events(service, user_id) == ["reset"]


async def test_the_reset_token_is_long_and_stored_only_as_its_hash(service: AuthService) -> None:
    await active_client(service)
    await ask_reset(service)
    [link] = await reset_links(service)
    assert len(link.reset_token) >= 43  # 256 bits, base64url: above the 128 asked
    doc = await service.runtime.database[PASSWORD_RESETS].find_one({"_id": link.reset_id})
    assert doc is not None and doc["token_hash"] == hash_token(link.reset_token)
    assert link.reset_token not in repr({k: v for k, v in doc.items() if k != OUTBOX_FIELD})


async def test_a_reset_link_works_once(service: AuthService) -> None:
    await active_client(service)
    await ask_reset(service)
    [link] = await reset_links(service)
    await reset(service, link.reset_token)
    with pytest.raises(Gone):
        await reset(service, link.reset_token, password="another long passphrase")


async def test_a_reset_link_older_than_thirty_minutes_is_gone(service: AuthService) -> None:
    await active_client(service)
    await ask_reset(service)
    [link] = await reset_links(service)
    await service.runtime.database[PASSWORD_RESETS].update_one(
        {"_id": link.reset_id}, {"$set": {"expires_at": utc_now() - timedelta(seconds=1)}})
    with pytest.raises(Gone):
        await reset(service, link.reset_token)


async def test_only_the_newest_reset_link_works(service: AuthService) -> None:
    await active_client(service)
    await ask_reset(service)
    await ask_reset(service)
    old, new = await reset_links(service)
    with pytest.raises(Gone):
        await reset(service, old.reset_token)
    await reset(service, new.reset_token)


async def test_an_unknown_reset_link_is_not_found(service: AuthService) -> None:
    with pytest.raises(NotFound):
        await reset(service, "no-such-token")


async def test_a_reset_to_a_common_password_is_refused_and_the_link_still_works(
    service: AuthService,
) -> None:
    await active_client(service)
    await ask_reset(service)
    [link] = await reset_links(service)
    with pytest.raises(Invalid) as refused:
        await reset(service, link.reset_token, password="Password1234")
    assert refused.value.fields == {"password": COMMON_PASSWORD}
    await reset(service, link.reset_token)


async def test_a_reset_for_an_unknown_or_invited_address_answers_alike_and_mails_nothing(
    service: AuthService,
) -> None:
    await invite(service, email="invited@example.be")
    await ask_reset(service, "nobody@example.be")
    await ask_reset(service, "invited@example.be")
    assert await reset_links(service) == []


async def test_a_reset_request_takes_as_long_for_an_unknown_address_as_for_a_known_one(
    service: AuthService,
) -> None:
    """ASVS 6.3.8: the median answer times of 200 requests each differ by less than 5 ms."""
    await active_client(service)
    known: list[float] = []
    unknown: list[float] = []
    for attempt in range(200):
        for email, times in ((EMAIL, known), (f"nobody{attempt}@example.be", unknown)):
            started = time.perf_counter()
            await call_in_memory(service.runtime.broker, auth.REQUEST_PASSWORD_RESET,
                                 auth.PasswordResetRequest(email=email))
            times.append(time.perf_counter() - started)
    await service.background.settle()
    difference_ms = abs(statistics.median(known) - statistics.median(unknown)) * 1000
    print(f"reset request median difference {difference_ms:.3f} ms")
    assert difference_ms < 5


# --- change while signed in -------------------------------------------------------------------

async def change(service: AuthService, user_id: str, session: auth.TokenPair, current: str,
                 new: str = NEW_PASSWORD) -> None:
    request = auth.ChangePasswordRequest(
        caller=Caller(user_id=user_id, role=Role.CLIENT),
        session_id=claims_of(service, session).sid, current_password=current, new_password=new)
    await call_in_memory(service.runtime.broker, auth.CHANGE_PASSWORD, request)


async def test_changing_the_password_keeps_this_session_and_ends_the_others(
    service: AuthService,
) -> None:
    user_id, here = await active_client(service)
    elsewhere = await log_in(service, PASSWORD)
    await change(service, user_id, here, PASSWORD)
    here = await refresh(service, here)
    with pytest.raises(Unauthenticated):
        await refresh(service, elsewhere)
    await log_in(service, NEW_PASSWORD)
    assert await password_changed_events(service, user_id) == ["change"]


async def test_a_change_needs_the_current_password(service: AuthService) -> None:
    user_id, here = await active_client(service)
    with pytest.raises(Invalid) as refused:
        await change(service, user_id, here, "not my password at all")
    assert refused.value.fields == {"current_password": WRONG_CURRENT_PASSWORD}
    await log_in(service, PASSWORD)


async def test_guessing_the_current_password_is_throttled_like_a_login(
    service: AuthService,
) -> None:
    user_id, here = await active_client(service)
    for _ in range(9):
        with pytest.raises(Invalid):
            await change(service, user_id, here, "not my password at all")
    with pytest.raises(RateLimited):
        await change(service, user_id, here, "not my password at all")


async def test_an_address_gets_at_most_three_reset_mails_an_hour(service: AuthService) -> None:
    await active_client(service)
    for _ in range(5):
        await ask_reset(service)  # every request is answered alike
    assert len(await reset_links(service)) == 3
