"""Shared pieces of the gateway tests: Ed25519 keys, signed tokens, a fake RPC client, the app.

The fake has the RpcClient's `call(method, request)` interface and answers from canned replies,
so the gateway is tested alone: every RPC it makes is recorded and can be asserted on.
"""

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from pydantic import BaseModel

from gateway.config import GatewaySettings
from gateway.main import create_app
from libs.contracts import auth, documents, dossier, office, requests, signing
from libs.contracts.auth import AccessClaims
from libs.contracts.caller import Role
from libs.contracts.envelope import utc_now
from libs.contracts.rpc import Ack, ReplyT, RequestT, RpcMethod
from libs.servicekit.errors import ServiceError, Unavailable

Reply = BaseModel | ServiceError | Callable[[BaseModel], BaseModel]


@dataclass
class FakeRpc:
    """Answers RPC calls from canned replies (a model, an error to raise, or a function)."""

    replies: dict[str, Reply] = field(default_factory=dict)
    calls: list[tuple[str, BaseModel]] = field(default_factory=list)
    timeouts: dict[str, float | None] = field(default_factory=dict)  # last one asked per method

    def answer(self, method: RpcMethod[RequestT, ReplyT], reply: Reply) -> None:
        """Reply to `method` with `reply` from now on."""
        self.replies[method.queue] = reply

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel, *,
                   timeout_seconds: float | None = None) -> ReplyT:
        """Record the call and answer it like a service would."""
        self.calls.append((method.queue, request))
        self.timeouts[method.queue] = timeout_seconds
        reply = self.replies.get(method.queue)
        if reply is None:
            raise Unavailable(f"{method.queue} did not answer (no canned reply).")
        if isinstance(reply, ServiceError):
            raise reply
        result = reply if isinstance(reply, BaseModel) else reply(request)
        return method.reply.model_validate(result.model_dump())

    def called(self, method: RpcMethod[RequestT, ReplyT]) -> list[BaseModel]:
        """The requests sent to `method`."""
        return [request for queue, request in self.calls if queue == method.queue]

    @property
    def methods(self) -> list[str]:
        """The queues called, in order."""
        return [queue for queue, _ in self.calls]


@dataclass
class SigningKey:
    """An Ed25519 key pair like auth's: tokens are signed here, the gateway reads the PEM."""

    private_key: Ed25519PrivateKey
    public_pem_path: Path

    def token(
        self,
        *,
        user_id: str = "u1",
        session_id: str = "s1",
        role: Role = Role.CLIENT,
        dossiers: tuple[str, ...] = ("D1",),
        lifetime_seconds: int = 300,
        issued_at: int | None = None,
        name: str = "An Peeters",
        language: str = "nl",
        auth_time: int | None = None,
    ) -> str:
        """A signed access token with these claims."""
        issued = int(time.time()) if issued_at is None else issued_at
        claims = AccessClaims(
            sub=user_id, sid=session_id, role=role, email=f"{user_id}@example.be", name=name,
            lang=language, dossiers=list(dossiers), iat=issued, exp=issued + lifetime_seconds,
            auth_time=auth_time)
        return jwt.encode(claims.model_dump(mode="json"), self.private_key, algorithm="EdDSA")

    def pair(self, **claims: object) -> auth.TokenPair:
        """A token pair as auth's LOG_IN/REFRESH would return it."""
        return auth.TokenPair(access_token=self.token(**claims),  # type: ignore[arg-type]
                              refresh_token=f"refresh-{time.monotonic_ns()}", expires_in=300)


def write_signing_key(directory: Path) -> SigningKey:
    """A fresh key pair whose public half is written as PEM under `directory`."""
    private_key = Ed25519PrivateKey.generate()
    path = directory / "jwt-public.pem"
    path.write_bytes(private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return SigningKey(private_key, path)


@dataclass
class ObjectStore:
    """Stands in for S3's presigned URLs: PUT stores a body, GET returns it."""

    objects: dict[str, bytes] = field(default_factory=dict)
    put_headers: list[httpx.Headers] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The S3 side of one presigned request."""
        key = request.url.path
        if request.method == "PUT":
            self.put_headers.append(request.headers)
            self.objects[key] = request.content
            return httpx.Response(200)
        if key in self.objects:
            body = self.objects[key]
            ranged = request.headers.get("range", "")
            if ranged.startswith("bytes="):  # one "first-last" or "-suffix" range, as S3
                first, _, last = ranged.removeprefix("bytes=").partition("-")
                if not first:
                    first, last = str(max(len(body) - int(last), 0)), ""
                start, end = int(first), min(int(last or len(body) - 1), len(body) - 1)
                if start >= len(body):
                    return httpx.Response(416)
                return httpx.Response(206, content=body[start:end + 1], headers={
                    "Content-Range": f"bytes {start}-{end}/{len(body)}"})
            return httpx.Response(200, content=body)
        return httpx.Response(404)


def sample_contracts(dossier_id: str = "D1") -> dossier.ContractList:
    """Two contracts of a household: a car and a home, with guarantees."""
    return dossier.ContractList(
        dossier_id=dossier_id,
        risk_objects=[
            dossier.RiskObject(risk_object_id="r1", kind="vehicle",
                               description="Volkswagen Golf 1-ABC-123"),
            dossier.RiskObject(risk_object_id="r2", kind="building",
                               description="Kerkstraat 12, 2000 Antwerpen"),
        ],
        contracts=[
            dossier.Contract(
                contract_id="c1", policy_number="AUTO-2024-0001", insurer="AG Insurance",
                product="Autoverzekering", start_date=date(2024, 1, 1),
                annual_premium_cents=123456, risk_object_ids=["r1"],
                guarantees=[
                    dossier.Guarantee(code="BA", label="Burgerlijke aansprakelijkheid"),
                    dossier.Guarantee(code="OMN", label="Omnium", insured_amount_cents=2500000,
                                      deductible_cents=50000),
                ]),
            dossier.Contract(
                contract_id="c2", policy_number="WON-2023-0042", insurer="Ethias",
                product="Woningverzekering", start_date=date(2023, 6, 15),
                annual_premium_cents=48900, risk_object_ids=["r2"],
                guarantees=[dossier.Guarantee(code="BR", label="Brand")]),
        ],
    )


def sample_contract_page(query: BaseModel) -> dossier.ContractPage:
    """The household's contracts as one page of "my contracts" for the asked dossier."""
    assert isinstance(query, dossier.ListQuery)
    contracts = sample_contracts(query.dossier_id).contracts
    return dossier.ContractPage(
        dossier_id=query.dossier_id, total=len(contracts), page=1, page_count=1,
        page_size=query.page_size, sort=query.sort or "position", descending=query.descending,
        last_cursor="last", items=contracts)


def household_rpc() -> FakeRpc:
    """A fake whose services know dossiers D1 and D2 and answer the pages' queries."""
    rpc = FakeRpc()
    rpc.answer(auth.LIST_REVOKED_SESSIONS, auth.RevokedSessions(session_ids=[]))
    rpc.answer(office.GET_OFFICE, office.OfficeSettingsPublic())  # a fresh office: defaults
    rpc.answer(requests.ADMIT_ATTACHMENT, Ack())  # within the account's attachment window
    rpc.answer(dossier.LIST_DOSSIER_SUMMARIES, dossier.DossierSummaries(dossiers=[
        dossier.DossierSummary(dossier_id="D1", name="Familie Peeters", person_count=3,
                               contract_count=2),
        dossier.DossierSummary(dossier_id="D2", name="Peeters Bouw BV", person_count=1,
                               contract_count=1),
    ]))
    rpc.answer(dossier.LIST_CONTRACTS, lambda request: sample_contracts())
    rpc.answer(dossier.LIST_CONTRACT_PAGE, sample_contract_page)
    rpc.answer(signing.LIST_DOCUMENTS_TO_SIGN, signing.DocumentsToSign(documents=[]))
    return rpc


@dataclass
class Gateway:
    """A running gateway app (TestClient) with its fake services and signing key."""

    client: TestClient
    rpc: FakeRpc
    key: SigningKey
    store: ObjectStore

    def bearer(self, **claims: object) -> dict[str, str]:
        """An Authorization header with a fresh token of these claims."""
        return {"Authorization": f"Bearer {self.key.token(**claims)}"}  # type: ignore[arg-type]


def run_gateway(tmp_path: Path, rpc: FakeRpc, **settings: object) -> Iterator[Gateway]:
    """Start the app on `rpc`; the TestClient runs its lifespan."""
    key = write_signing_key(tmp_path)
    store = ObjectStore()
    values: dict[str, object] = {"environment": "test",
                                 "jwt_public_key_path": str(key.public_pem_path), **settings}
    app = create_app(
        GatewaySettings(**values),  # type: ignore[arg-type]
        rpc=rpc,
        storage=httpx.AsyncClient(transport=httpx.MockTransport(store.handle)),
    )
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        yield Gateway(client=client, rpc=rpc, key=key, store=store)


@pytest.fixture(name="gateway")
def gateway_fixture(tmp_path: Path) -> Iterator[Gateway]:
    """The gateway on a household's fake services, with a 1 KiB upload limit."""
    yield from run_gateway(tmp_path, household_rpc(), max_upload_bytes=1024)


STORE = "http://s3.test/mybroker-documents"  # the fake S3 bucket behind every presigned URL


def published(document_id: str, *, size: int, sha256: str, filename: str = "polis.pdf",
              content_type: str = "application/pdf") -> documents.DocumentPublic:
    return documents.DocumentPublic(
        document_id=document_id, dossier_id="D1", title="Polis", filename=filename,
        content_type=content_type, size=size, sha256=sha256, uploaded_by="agent1",
        uploaded_at=utc_now())


def ticket_for(gateway: Gateway, body: bytes, *, filename: str = "polis.pdf",
               content_type: str = "application/pdf", sha256: str | None = None,
               ranges: bool = False) -> None:
    gateway.store.objects["/mybroker-documents/doc9"] = body
    digest = sha256 or hashlib.sha256(body).hexdigest()
    gateway.rpc.answer(documents.OPEN_DOWNLOAD, documents.DownloadTicket(
        document=published("doc9", size=len(body), sha256=digest, filename=filename,
                           content_type=content_type),
        download_url=f"{STORE}/doc9?X-Amz-Signature=abc", ranges=ranges))
    gateway.rpc.answer(documents.REPORT_VERIFIED, Ack())
