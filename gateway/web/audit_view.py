"""The audit log as the office admin reads it: a sentence per action, a device, not raw codes.

Auth records each staff action as a code with details ("account.disable", sessions_ended=2)
and the request's user agent. The page says it in the reader's language ("disabled the account
of Pieter Dupont; 2 sessions ended") and names the device ("Chrome on Android"), so the
office can answer "who did this, and from where?" without decoding anything.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from gateway.web.rendering import _mark
from libs.contracts.auth import AuditEntry

# What each action did; %(target)s is the person (or address) it was about, the other
# placeholders are the entry's details. An action not listed here is shown by its code.
ACTION_SENTENCES: dict[str, str] = {
    "account.disable": _mark("disabled the account of %(target)s (%(sessions_ended)s sessions "
                             "ended)"),
    "invitation.create": _mark("invited %(target)s to dossier(s) %(dossier_ids)s"),
    "invitation.resend": _mark("sent the invitation of %(target)s again"),
    "invitation.revoke": _mark("revoked the invitation of %(target)s"),
    "grant.add": _mark("gave %(target)s access to dossier %(dossier_id)s"),
    "grant.remove": _mark("removed the access of %(target)s to dossier %(dossier_id)s"),
    "staff.create": _mark("created the staff account of %(target)s"),
    "registration.approve": _mark("approved the registration of %(target)s for dossier(s) "
                                  "%(dossier_ids)s"),
    "registration.refuse": _mark("refused the registration of %(target)s"),
    "eid.link.accept": _mark("linked an eID card to the account of %(target)s"),
    "eid.link.refuse": _mark("refused to link an eID card to %(target)s"),
    "office.update": _mark("changed the office settings (version %(version)s: %(fields)s)"),
}

ACTION_KINDS: dict[str, str] = {
    "account": _mark("Accounts"),
    "invitation": _mark("Invitations"),
    "grant": _mark("Access to dossiers"),
    "registration": _mark("Registrations"),
    "eid": _mark("eID cards"),
    "staff": _mark("Staff accounts"),
    "office": _mark("Office settings"),
}

UNKNOWN_DEVICE = _mark("Unknown device")
UNKNOWN_STAFF = _mark("Unknown staff member")
A_PROGRAM = _mark("A program (%(name)s)")
ON_SYSTEM = _mark("%(browser)s on %(system)s")


@dataclass(frozen=True)
class AuditLine:
    """One entry as the page shows it."""

    entry: AuditEntry
    who: str
    what: str
    device: str


def audit_line(entry: AuditEntry, translate: Callable[[str], str]) -> AuditLine:
    """`entry` in words of the reader's language."""
    target = entry.target_name or entry.target
    sentence = ACTION_SENTENCES.get(entry.action)
    if sentence is not None:
        details = {key: ", ".join(value.split(",")) if key == "dossier_ids" else value
                   for key, value in entry.details.items()}  # stored comma-joined
        what = translate(sentence) % _Details({**details, "target": target})
    else:
        extra = "; ".join(f"{key.replace('_', ' ')}: {value}"
                          for key, value in entry.details.items())
        what = f"{entry.action.replace('.', ' ')} · {target}" + (f" ({extra})" if extra else "")
    if entry.action == "registration.refuse" and entry.details.get("reason"):
        what = f"{what}: {entry.details['reason']}"
    return AuditLine(entry=entry, who=entry.actor_name or translate(UNKNOWN_STAFF), what=what,
                     device=device_name(entry.user_agent, translate))


def device_name(user_agent: str | None, translate: Callable[[str], str]) -> str:
    """A person's words for the device a request came from ("Chrome on Android")."""
    if not user_agent:
        return translate(UNKNOWN_DEVICE)
    browser, system = _parsed(user_agent)
    if browser is None:
        program = user_agent.split("/", 1)[0].split(" ", 1)[0][:40]
        return translate(A_PROGRAM) % {"name": program} if program else translate(UNKNOWN_DEVICE)
    if system is None:
        return browser
    return translate(ON_SYSTEM) % {"browser": browser, "system": system}


@lru_cache(maxsize=512)
def _parsed(user_agent: str) -> tuple[str | None, str | None]:
    """The browser and system families of a user agent (parsing costs ~1 ms: cached)."""
    # Imported at the first use (an audit log shown to staff, a signature's evidence), not at
    # start: its rules and YAML loader stay out of the gateway's memory until then.
    from ua_parser import parse

    found = parse(user_agent[:1000])
    browser = found.user_agent.family if found.user_agent else None
    system = found.os.family if found.os else None
    if browser in (None, "Other") or (system in (None, "Other") and "/" in user_agent
                                       and not user_agent.startswith("Mozilla/")):
        return None, None
    return browser, None if system in (None, "Other") else system


class _Details(dict[str, str]):
    """An entry's details for a sentence: one written before a detail existed shows a dash."""

    def __missing__(self, key: str) -> str:
        return "—"
