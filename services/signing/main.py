"""Composition root of the signing service: `python -m services.signing`."""

import asyncio
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from libs.contracts.privacy import ExportPart
from libs.contracts.sms import SmsSender
from libs.servicekit.bus import create_broker
from libs.servicekit.cursor_signing import CursorSigner, cursor_key
from libs.servicekit.export_parts import EXPORT_PARTS, subscribe_export_part
from libs.servicekit.export_storage import ExportStorage
from libs.servicekit.lease import Lease
from libs.servicekit.logs import configure_logging, get_logger
from libs.servicekit.mongo import create_mongo_client
from libs.servicekit.outbox import OutboxRelay
from libs.servicekit.periodic import run_every, stop_background
from libs.servicekit.rpc import RpcClient
from libs.servicekit.runtime import ServiceRuntime
from libs.servicekit.sms_sender import BusSmsSender
from services.signing import privacy_erasure, subscribers
from services.signing.client_sheets import ClientSheetSignatures
from services.signing.config import SigningSettings
from services.signing.domain import SigningPolicy
from services.signing.handlers import RpcCalling, Sealing, SigningHandlers
from services.signing.mobile import MobilePolicy
from services.signing.mobile_handlers import MobileSigning, RpcSmsSender
from services.signing.privacy_export import SignaturesPartBuilder
from services.signing.seal_certificates import make_demo_seal
from services.signing.sealing import Seal, trust_roots
from services.signing.store import SIGNATURE_REQUESTS, MobileStore, SigningStore

SERVICE = "signing"
log = get_logger(__name__)
# Downloads of a document to seal and uploads of the signed PDF (presigned S3 links).
STORAGE_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@dataclass
class SigningService:
    runtime: ServiceRuntime
    handlers: SigningHandlers
    mobile: MobileSigning
    store: SigningStore
    relay: OutboxRelay
    rpc_client: RpcClient | None
    http: httpx.AsyncClient
    check_seconds: float

    async def run(self) -> None:
        """Serve until SIGINT/SIGTERM, with the periodic job (one replica at a time)."""
        checker = asyncio.create_task(
            run_every(self.check_seconds, self.handlers.check_requests, name="signing check",
                      lease=Lease(self.runtime.database, "signing-check")),
            name="signing-check")
        try:
            await self.runtime.run()
        finally:
            await stop_background([checker])
            if self.rpc_client is not None:
                await self.rpc_client.close()
            await self.http.aclose()
            self.handlers.close()


def sealing_from_settings(settings: SigningSettings) -> Sealing:
    """The office's seal; outside production without one, a demo hierarchy of this process."""
    tsa_url = settings.tsa_url or None
    if settings.seal_pkcs12_path:
        seal = Seal(pkcs12=Path(settings.seal_pkcs12_path).read_bytes(),
                    passphrase=settings.seal_passphrase, tsa_url=tsa_url,
                    name=settings.office_name)
        roots = (trust_roots(Path(settings.trust_bundle_path).read_bytes())
                 if settings.trust_bundle_path else [])
        return Sealing(seal=seal, roots=roots)
    if settings.environment == "prod":
        raise ValueError("MYBROKER_SIGNING_SEAL_PKCS12_PATH must be set in production")
    log.warning("no MYBROKER_SIGNING_SEAL_PKCS12_PATH: sealing with a throw-away demo seal")
    passphrase = secrets.token_urlsafe(16)
    demo = make_demo_seal(passphrase)
    roots = trust_roots(demo.ca_pem)
    if settings.trust_bundle_path:
        roots += trust_roots(Path(settings.trust_bundle_path).read_bytes())
    return Sealing(seal=Seal(pkcs12=demo.seal_pkcs12, passphrase=passphrase, tsa_url=tsa_url,
                             name=settings.office_name), roots=roots)


def build(settings: SigningSettings, *, rpc: RpcCalling | None = None,
          http: httpx.AsyncClient | None = None, sms: SmsSender | None = None
          ) -> SigningService:
    """Build the service from its settings (tests call this with their own, maybe a fake
    `rpc` and object storage behind `http`; SMS go through the notifier's port by `rpc`)."""
    broker = create_broker(settings.amqp_url, SERVICE)
    database = create_mongo_client(settings.mongo_url)[settings.database_name(SERVICE)]
    store = SigningStore(database, CursorSigner(cursor_key(settings.cursor_secret,
                                                           settings.environment)))
    relay = OutboxRelay(broker, database, [SIGNATURE_REQUESTS,
                                           *privacy_erasure.OUTBOX_COLLECTIONS, EXPORT_PARTS])
    rpc_client: RpcClient | None = None
    if rpc is None:
        rpc = rpc_client = RpcClient(settings.amqp_url,
                                     timeout_seconds=settings.rpc_timeout_seconds)
    http = http or httpx.AsyncClient(timeout=STORAGE_TIMEOUT)
    handlers = SigningHandlers(
        store, rpc=rpc, http=http, sealing=sealing_from_settings(settings),
        policy=SigningPolicy(
            reauthenticate_after=timedelta(seconds=settings.reauthenticate_after_seconds)),
        reminder_every=timedelta(days=settings.reminder_after_days),
        max_reminders=settings.max_reminders,
        seal_claim=timedelta(seconds=settings.seal_claim_seconds),
        on_events_stored=relay.notify)
    subscribe_export_part(broker, database, ExportStorage.from_settings(settings),
                          consumer=SERVICE, part=ExportPart.SIGNATURES,
                          build=SignaturesPartBuilder(database), notify=relay.notify)
    if sms is None:
        sms = BusSmsSender(rpc_client) if rpc_client is not None else RpcSmsSender(rpc)
    mobile_store = MobileStore(database)
    mobile = MobileSigning(handlers, mobile_store, rpc=rpc, sms=sms, policy=MobilePolicy())
    subscribers.register(broker, handlers, mobile, prefetch=settings.rpc_prefetch,
                         sheets=ClientSheetSignatures(handlers, rpc))
    privacy = privacy_erasure.wire(broker, database, settings, notify=relay.notify)

    async def prepare() -> None:
        await store.ensure_indexes()
        await mobile_store.ensure_indexes()
        handlers.start_sealing()
        if rpc_client is not None and not rpc_client.connected:
            await rpc_client.connect()

    runtime = ServiceRuntime(SERVICE, settings, broker, database, relay=relay,
                             prepare_database=prepare)
    privacy.start_with(runtime)
    return SigningService(runtime=runtime, handlers=handlers, mobile=mobile, store=store,
                          relay=relay, rpc_client=rpc_client, http=http,
                          check_seconds=settings.check_seconds)


def main() -> None:
    """Run the service until SIGINT/SIGTERM."""
    settings = SigningSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(build(settings).run())
