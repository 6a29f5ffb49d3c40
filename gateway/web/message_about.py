"""What a new message is about (manual 6): general, the personal data, a person, a contract, a
risk object or a claim. The object is looked up in the client's dossier (another dossier's id is
"not found"), and its number or name becomes the label and the prefilled subject: a label is
never taken from the form."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from gateway.deps import RpcCaller
from libs.contracts import dossier
from libs.contracts.caller import Caller
from libs.contracts.ids import ID_MAX_LENGTH, ID_PATTERN
from libs.contracts.requests import AboutKind, RequestAbout
from libs.servicekit.errors import NotFound

_ID = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class AboutChoice:
    """A message's subject matter: what the service stores, what the form shows."""

    about: RequestAbout
    value: str  # as the form sends it back: `general`, `contract:<id>`, ...
    subject: str  # the prefilled subject ("" when the client writes it)
    kind_label: str  # "Contract", "Risk object", ... in the reader's language

    @property
    def is_general(self) -> bool:
        """A message from "Mijn berichten": the client writes the subject."""
        return self.about.kind == AboutKind.GENERAL


async def resolve_about(rpc: RpcCaller, caller: Caller, dossier_id: str, value: str,
                        _: Callable[[str], str]) -> AboutChoice:
    """The choice `value` names (`contract:<id>`...), checked against the dossier."""
    kind_name, _sep, ref_id = value.partition(":")
    try:
        kind = AboutKind(kind_name)
    except ValueError:
        raise NotFound("This contract, risk object or claim does not exist.") from None
    if kind in (AboutKind.GENERAL, AboutKind.PERSONAL_DATA):
        label = _("My personal data") if kind == AboutKind.PERSONAL_DATA else ""
        return AboutChoice(RequestAbout(kind=kind, label=label), kind.value, label,
                           _("About") if label else "")
    if not ref_id or len(ref_id) > ID_MAX_LENGTH or not _ID.fullmatch(ref_id):
        raise NotFound("This contract, risk object or claim does not exist.")
    query = dossier.ObjectQuery(caller=caller, dossier_id=dossier_id, object_id=ref_id)
    if kind == AboutKind.CONTRACT:
        contract = (await rpc.call(dossier.GET_CONTRACT, query)).contract
        label, subject = contract.policy_number, f"{contract.product} – {contract.policy_number}"
        kind_label = _("Contract number")
    elif kind == AboutKind.RISK_OBJECT:
        risk = (await rpc.call(dossier.GET_RISK_OBJECT, query)).risk_object
        label = subject = risk.description
        kind_label = _("Risk object")
    elif kind == AboutKind.CLAIM:
        claim = (await rpc.call(dossier.GET_CLAIM, query)).claim
        label = claim.claim_number
        subject = _("Claim %(number)s") % {"number": claim.claim_number}
        kind_label = _("Claim number")
    else:
        persons = (await rpc.call(dossier.LIST_PERSONS, dossier.DossierQuery(
            caller=caller, dossier_id=dossier_id))).persons
        person = next((p for p in persons if p.person_id == ref_id), None)
        if person is None:
            raise NotFound("This person does not exist.")
        label = subject = f"{person.first_name} {person.last_name}"
        kind_label = _("Person")
    return AboutChoice(RequestAbout(kind=kind, ref_id=ref_id, label=label[:200]),
                       f"{kind.value}:{ref_id}", subject[:200], kind_label)
