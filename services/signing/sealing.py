"""The signed PDF: the document, an evidence page, and the office's PAdES seal (pyHanko), with an
RFC 3161 timestamp when a TSA is configured (PAdES B-T); and the check of such a PDF.

pyHanko's work is CPU-bound: the service runs `seal_pdf` and `check_pdf` in a worker thread,
each with an event loop of its own (the TSA is asked from there).
"""

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import cms, pem, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.aiohttp_client import HTTPTimeStamper
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from libs.contracts.signing import PdfCheck

SEAL_FIELD = "MyBrokerSeal"
# Room for the CMS blob (seal, its chain, the timestamp token with the TSA's chain): reserved
# up front, pyHanko skips its trial signature (and trial timestamp) that would measure it.
SIGNATURE_BYTES = 24 * 1024
PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN = 50
LEADING = 14
LINE_CHARACTERS = 95  # Helvetica 10 pt within the margins
LINES_PER_PAGE = (PAGE_HEIGHT - 2 * MARGIN) // LEADING


class SealingProblem(Exception):
    """The document cannot be sealed (encrypted, broken, the TSA away): the reason says why."""


@dataclass(frozen=True)
class Seal:
    """The office's sealing key and certificate, and where timestamps come from."""

    pkcs12: bytes
    passphrase: str
    tsa_url: str | None = None
    name: str = "MyBroker"
    location: str = "Belgium"


def trust_roots(pem_bundle: bytes) -> list[asn1_x509.Certificate]:
    """The certificates of a PEM bundle (the CAs a verifier trusts)."""
    return [asn1_x509.Certificate.load(der)
            for _, _, der in pem.unarmor(pem_bundle, multiple=True)]


def _wrap(line: str) -> list[str]:
    if len(line) <= LINE_CHARACTERS:
        return [line]
    indent = " " * (len(line) - len(line.lstrip()) + 2)
    parts = [line[:LINE_CHARACTERS]]
    rest = line[LINE_CHARACTERS:]
    while rest:
        width = LINE_CHARACTERS - len(indent)
        parts.append(indent + rest[:width])
        rest = rest[width:]
    return parts


def _pdf_text(line: str) -> bytes:
    encoded = line.encode("cp1252", errors="replace")
    return encoded.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _page_content(lines: Sequence[str]) -> bytes:
    out = [b"BT", b"/F1 10 Tf", f"{LEADING} TL".encode(),
           f"{MARGIN} {PAGE_HEIGHT - MARGIN} Td".encode()]
    for index, line in enumerate(lines):
        if index == 0:
            out.append(b"/F2 13 Tf (" + _pdf_text(line) + b") Tj /F1 10 Tf T*")
        else:
            out.append(b"(" + _pdf_text(line) + b") Tj T*")
    out.append(b"ET")
    return b"\n".join(out)


def add_evidence_pages(writer: IncrementalPdfFileWriter, lines: Sequence[str]) -> int:
    """Append the evidence as one or more A4 pages; how many."""
    def font(name: str) -> generic.IndirectObject:
        return writer.add_object(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type1"),
            pdf_name("/BaseFont"): pdf_name(name),
            pdf_name("/Encoding"): pdf_name("/WinAnsiEncoding")}))
    resources = generic.DictionaryObject({pdf_name("/Font"): generic.DictionaryObject({
        pdf_name("/F1"): font("/Helvetica"), pdf_name("/F2"): font("/Helvetica-Bold")})})
    wrapped = [part for line in lines for part in _wrap(line)]
    chunks = [wrapped[i:i + LINES_PER_PAGE] for i in range(0, len(wrapped), LINES_PER_PAGE)]
    for chunk in chunks:
        content = writer.add_object(generic.StreamObject(stream_data=_page_content(chunk)))
        writer.insert_page(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): generic.ArrayObject(
                [generic.NumberObject(0), generic.NumberObject(0),
                 generic.NumberObject(PAGE_WIDTH), generic.NumberObject(PAGE_HEIGHT)]),
            pdf_name("/Resources"): resources,
            pdf_name("/Contents"): content,
        }))
    return len(chunks)


class _SealSigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner, with the private key parsed once instead of at every signature
    (an RSA key's parse and check cost more than the signature itself)."""

    def __init__(self, loaded: signers.SimpleSigner) -> None:
        super().__init__(signing_cert=loaded.signing_cert, signing_key=loaded.signing_key,
                         cert_registry=loaded.cert_registry)
        self._private_key = serialization.load_der_private_key(
            loaded.signing_key.dump(), password=None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        key = self._private_key
        hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if isinstance(key, RSAPrivateKey) and mechanism == "rsassa_pkcs1v15":
            return key.sign(data, PKCS1v15(), hash_algorithm)
        if isinstance(key, EllipticCurvePrivateKey) and mechanism == "ecdsa":
            return key.sign(data, ECDSA(hash_algorithm))
        return super().sign_raw(data, digest_algorithm)


class _TimedTimeStamper(HTTPTimeStamper):
    """pyHanko's HTTP timestamp client, counting the seconds spent waiting for the TSA."""

    waited = 0.0

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        started = time.perf_counter()
        try:
            return await super().async_request_tsa_response(req)
        finally:
            _TimedTimeStamper.waited += time.perf_counter() - started


def tsa_seconds() -> float:
    """The seconds this process waited for the timestamp authority so far."""
    return _TimedTimeStamper.waited


_signers: dict[tuple[bytes, str], _SealSigner] = {}
_signers_lock = threading.Lock()


def seal_signer(seal: Seal) -> signers.SimpleSigner:
    """The seal's signer, loaded from its PKCS#12 once per process."""
    with _signers_lock:
        found = _signers.get((seal.pkcs12, seal.passphrase))
        if found is None:
            try:
                loaded = signers.SimpleSigner.load_pkcs12_data(
                    seal.pkcs12, other_certs=[], passphrase=seal.passphrase.encode())
            except ValueError as error:
                raise SealingProblem(f"the seal cannot be loaded ({error})") from None
            found = _signers[(seal.pkcs12, seal.passphrase)] = _SealSigner(loaded)
        return found


async def _seal(pdf: bytes, lines: Sequence[str], seal: Seal) -> bytes:
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    except Exception as error:  # noqa: BLE001 - any reader error: not a PDF we can seal
        raise SealingProblem(f"the document is not a readable PDF ({error})") from None
    if writer.security_handler is not None:
        raise SealingProblem("the document is an encrypted PDF")
    add_evidence_pages(writer, lines)
    signer = seal_signer(seal)
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256",
        reason=f"Sealed by {seal.name}: signed by every signer (see the evidence page)",
        location=seal.location, name=seal.name)
    timestamper = _TimedTimeStamper(seal.tsa_url, timeout=10) if seal.tsa_url else None
    pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=timestamper)
    try:
        output = await pdf_signer.async_sign_pdf(writer, bytes_reserved=SIGNATURE_BYTES)
    except SigningError as error:
        raise SealingProblem(f"the seal could not be applied ({error})") from None
    except OSError as error:  # the TSA did not answer
        raise SealingProblem(f"the timestamp authority did not answer ({error})") from None
    sealed: bytes = output.getvalue()
    return sealed


def seal_pdf(pdf: bytes, lines: Sequence[str], seal: Seal) -> bytes:
    """`pdf` with the evidence pages appended, sealed (blocking: call it in a thread)."""
    return asyncio.run(_seal(pdf, lines, seal))


async def _check(pdf: bytes, roots: list[asn1_x509.Certificate]) -> PdfCheck:
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except Exception as error:  # noqa: BLE001 - any reader error: the file is not intact
        return PdfCheck(intact=False, trusted=False, timestamped=False,
                        summary=f"not a readable PDF: {error}")
    if not embedded:
        return PdfCheck(intact=False, trusted=False, timestamped=False,
                        summary="the PDF carries no signature")
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    seal = embedded[-1]
    try:
        status = await async_validate_pdf_signature(
            seal, signer_validation_context=context, ts_validation_context=context)
    except Exception as error:  # noqa: BLE001 - a damaged signature: reported, not raised
        return PdfCheck(intact=False, trusted=False, timestamped=False,
                        summary=f"the signature cannot be validated: {error}")
    intact = bool(status.intact and status.valid
                  and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
                  and _padding_untouched(seal.pkcs7_content))
    stamp = status.timestamp_validity
    timestamped = bool(stamp is not None and stamp.intact and stamp.valid and stamp.trusted)
    signed_at: datetime | None = stamp.timestamp if stamp is not None else status.signer_reported_dt
    return PdfCheck(
        intact=intact, trusted=bool(status.trusted), timestamped=timestamped,
        signer=status.signing_cert.subject.human_friendly, signed_at=signed_at,
        summary=status.summary())


def _padding_untouched(contents: bytes) -> bool:
    """The signature's /Contents is the CMS blob then zeros; the digest cannot cover it, so
    a changed byte of the padding is caught here (any other byte breaks the digest)."""
    try:
        used = len(cms.ContentInfo.load(contents, strict=False).dump())
    except ValueError:
        return False
    return not contents[used:].strip(b"\x00")


def check_pdf(pdf: bytes, roots: list[asn1_x509.Certificate]) -> PdfCheck:
    """Is the last signature of `pdf` intact, covering the whole file, trusted against `roots`,
    timestamped by a trusted TSA? (blocking: call it in a thread)"""
    return asyncio.run(_check(pdf, roots))
