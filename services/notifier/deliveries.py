"""The life of one outgoing mail (pure rules, no I/O).

SMTP cannot be asked "did you get this one?", so the window between handing a mail over and
recording that it left is made explicit: a mail is claimed (`sending`) before the hand-off and
marked `sent` after. Whoever later finds it still `sending` cannot know whether it left, so it is
never repeated automatically: it becomes `uncertain` and staff decide (resend or not).

    collecting --(due: claimed)--> sending --(accepted)--> sent
    sending --(refused: surely not sent)--> failed --(retried)--> sending
    sending --(found again: redelivery, stalled, no SMTP answer)--> uncertain
    uncertain --(a staff member resends it, recorded)--> sending
    failed --(SMTP still refuses after the retry limit)--> dead_lettered --(staff resend)--> sending
    (a client's mail their preferences send in the daily digest) held --(in a digest)--> held

A resend from the dossier's delivery log is a new mail (its own Message-ID) noting the mail it
repeats (`resend_of`).
"""

import random
from datetime import datetime, timedelta
from enum import StrEnum


class MailState(StrEnum):
    """Where an outgoing mail stands."""

    COLLECTING = "collecting"  # an office digest still gathering the dossier's messages
    SENDING = "sending"  # claimed: being handed to SMTP, outcome not yet recorded
    SENT = "sent"  # SMTP accepted it
    FAILED = "failed"  # SMTP refused it or was unreachable: it surely did not leave
    UNCERTAIN = "uncertain"  # handed over, outcome never recorded: staff decide
    DEAD_LETTERED = "dead_lettered"  # SMTP refused it up to the retry limit: staff decide
    HELD = "held"  # a client's mail held for their daily digest (never sent by itself)


class OnClaimed(StrEnum):
    """What a delivery does when it finds its mail already claimed."""

    SKIP = "skip"  # sent, or already uncertain: nothing more to do
    MARK_UNCERTAIN = "mark_uncertain"  # an earlier hand-off never recorded its outcome
    RETRY = "retry"  # the earlier attempt surely failed: claim it again and send


def on_claimed(state: MailState) -> OnClaimed:
    """The decision for a redelivered event whose mail is in `state`."""
    if state == MailState.SENDING:
        return OnClaimed.MARK_UNCERTAIN
    if state == MailState.FAILED:
        return OnClaimed.RETRY
    return OnClaimed.SKIP


def may_resend(state: MailState) -> bool:
    """Staff may resend (with the same Message-ID) only a mail whose fate is unknown or that the
    notifier gave up on; a sent mail is never sent again and a failed one is retried by the
    notifier itself."""
    return state in (MailState.UNCERTAIN, MailState.DEAD_LETTERED)


def retry_pause(attempt: int, base_seconds: float, max_seconds: float,
                rand: "random.Random | None" = None) -> float:
    """The pause after the `attempt`-th refused hand-off: exponential (base * 2^(attempt-1), at
    most `max_seconds`), with jitter between half and all of it, so the mails of a burst do not
    all knock again at the same moment."""
    ceiling = min(max_seconds, base_seconds * 2 ** max(0, attempt - 1))
    jitter = rand.random() if rand is not None else random.random()  # noqa: S311 - not secret
    return float(ceiling * (0.5 + 0.5 * jitter))


def stalled_before(now: datetime, stalled_after: timedelta) -> datetime:
    """Hand-offs begun before this moment are over by now, whatever their outcome."""
    return now - stalled_after


def mail_id_of(message_id: str) -> str:
    """The mail's id in the notifier's store: its deterministic Message-ID without the brackets
    and the domain (`<e1.invitation@mybroker>` -> `e1.invitation`)."""
    return message_id.strip().strip("<>").rsplit("@", 1)[0]
