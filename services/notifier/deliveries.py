"""The life of one outgoing mail (pure rules, no I/O).

SMTP cannot be asked "did you get this one?", so the window between handing a mail over and
recording that it left is made explicit: a mail is claimed (`sending`) before the hand-off and
marked `sent` after. Whoever later finds it still `sending` cannot know whether it left, so it is
never repeated automatically: it becomes `uncertain` and staff decide (resend or not).

    collecting --(due: claimed)--> sending --(accepted)--> sent
    sending --(refused: surely not sent)--> failed --(retried)--> sending
    sending --(found again: redelivery, stalled, no SMTP answer)--> uncertain
    uncertain --(a staff member resends it, recorded)--> sending
"""

from datetime import datetime, timedelta
from enum import StrEnum


class MailState(StrEnum):
    """Where an outgoing mail stands."""

    COLLECTING = "collecting"  # an office digest still gathering the dossier's messages
    SENDING = "sending"  # claimed: being handed to SMTP, outcome not yet recorded
    SENT = "sent"  # SMTP accepted it
    FAILED = "failed"  # SMTP refused it or was unreachable: it surely did not leave
    UNCERTAIN = "uncertain"  # handed over, outcome never recorded: staff decide


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
    """Staff may resend only a mail whose fate is unknown; a sent mail is never sent again and
    a failed one is retried by the notifier itself."""
    return state == MailState.UNCERTAIN


def stalled_before(now: datetime, stalled_after: timedelta) -> datetime:
    """Hand-offs begun before this moment are over by now, whatever their outcome."""
    return now - stalled_after


def mail_id_of(message_id: str) -> str:
    """The mail's id in the notifier's store: its deterministic Message-ID without the brackets
    and the domain (`<e1.invitation@mybroker>` -> `e1.invitation`)."""
    return message_id.strip().strip("<>").rsplit("@", 1)[0]
