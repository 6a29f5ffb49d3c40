"""The signing service's part in the erasure of a dossier (GDPR art. 17).

The signature requests go (signers, titles, the dossier). The hash-chained audit trail stays:
it is the evidence of each signature (eIDAS art. 25-26 and Belgian Civil Code book 8 art.
8.20: an electronic signature must be provable), and changing a record would break the chain.
It is already minimal: account ids, moments, the IP address and device, the document's hash;
no name, no dossier number.
"""

from collections.abc import Callable
from dataclasses import dataclass

from faststream.rabbit import RabbitBroker
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.privacy import ErasureCompleted
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.erasure import (
    ERASURE_REPORTS,
    DeleteWhere,
    ErasureParticipant,
    ErasureRule,
    HoldsNoDossierData,
    KeepAsEvidence,
    subscribe_erasure,
)
from libs.servicekit.mongo import Document
from libs.servicekit.retention import (
    AS_EPOCH_MS,
    AS_ISO_TEXT,
    RetentionJob,
    RetentionRule,
    schedule_retention,
)
from libs.servicekit.runtime import ServiceRuntime
from services.signing.config import SigningSettings
from services.signing.store import (
    AUDIT_RECORDS,
    MOBILE_CHALLENGES,
    MOBILE_CODES_SENT,
    MOBILE_ENROLMENTS,
    SIGNATURE_REQUESTS,
)

SERVICE = "signing"
EVIDENCE_REASON = ("the hash-chained evidence of each signature (eIDAS art. 25-26, Civil Code "
                   "8.20): account ids, moments, IP address, device, the document's hash")
OUTBOX_COLLECTIONS = [ERASURE_REPORTS]


def erasure_rules(database: AsyncDatabase[Document]) -> dict[str, ErasureRule]:
    """The evidence is counted before the requests that name its dossier are deleted."""

    async def evidence_of(dossier_id: str) -> int:
        ids = [doc["_id"] async for doc in database[SIGNATURE_REQUESTS].find(
            {"dossier_id": dossier_id}, {"_id": 1})]
        return await database[AUDIT_RECORDS].count_documents(
            {"signature_request_id": {"$in": ids}}) if ids else 0

    return {
        AUDIT_RECORDS: KeepAsEvidence(EVIDENCE_REASON, count=evidence_of),
        SIGNATURE_REQUESTS: DeleteWhere("dossier_id"),
        MOBILE_ENROLMENTS: DeleteWhere("dossier_id"),
        MOBILE_CHALLENGES: HoldsNoDossierData(
            "single-use nonces of a signature (ids and a document hash), valid two minutes, "
            "removed a day after (retention)"),
        MOBILE_CODES_SENT: HoldsNoDossierData(
            "when an account was sent an SMS code (the rate limit): an account id and a time, "
            "removed a day after (retention)"),
    }


# Retention (deploy/README.md, "Retention"): the mobile signature's nonces and the SMS codes
# sent (the rate limit) serve minutes; without these rules they would grow without bound.
RETENTION_RULES = (
    RetentionRule("mobile_challenges", MOBILE_CHALLENGES, "expires_at", 1,
                  "GDPR art. 5(1)(c)/(e): a nonce is valid two minutes and used once; removed "
                  "a day after it expired", stored_as=AS_ISO_TEXT),
    RetentionRule("mobile_codes_sent", MOBILE_CODES_SENT, "at_ms", 1,
                  "GDPR art. 5(1)(c)/(e): the SMS codes sent count for a limit of minutes; "
                  "removed a day after sending", stored_as=AS_EPOCH_MS),
)


@dataclass
class SigningPrivacy:
    participant: ErasureParticipant
    retention: RetentionJob

    def start_with(self, runtime: ServiceRuntime) -> None:
        """Run the retention job for the life of the service."""
        schedule_retention(runtime, self.retention)


def wire(broker: RabbitBroker, database: AsyncDatabase[Document], settings: SigningSettings,
         *, notify: Callable[[], None]) -> SigningPrivacy:
    """Subscribe this service's part of erasures; its retention job (the common logs)."""
    participant = ErasureParticipant(database, SERVICE, erasure_rules(database), notify=notify)
    declare_emitted_events(broker, producer=SERVICE, events=(ErasureCompleted,))
    subscribe_erasure(broker, participant)
    return SigningPrivacy(participant, RetentionJob(database, SERVICE, RETENTION_RULES,
                                                    settings.retention_days))
