"""The office's look on every page: its colours as a stylesheet and its logo, both public (the
login page shows them before anyone signs in) and both addressed by what they are (the
settings' version, the logo's hash), so browsers cache them and see a change at once.

The logo comes from the office admin's upload: PNG or JPEG only (read by Pillow, not by its
name), at most MAX_LOGO_BYTES and MAX_LOGO_PIXELS a side; stored by the documents service in
the office context, and only the current one is ever served here.
"""

import hashlib
import io
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gateway.deps import GatewayState, RpcCaller, State
from gateway.office import OfficeKeeper, OfficeLogo
from gateway.streaming import SpooledUpload, store_upload
from libs.contracts import documents, office
from libs.contracts.auth import StaffOrigin
from libs.contracts.caller import Caller
from libs.contracts.office import OfficeSettingsPublic
from libs.servicekit.errors import Invalid, NotFound, Unavailable
from libs.servicekit.logs import get_logger

log = get_logger(__name__)
router = APIRouter(include_in_schema=False)
MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_PIXELS = 2000  # per side; a header shows it at most a few hundred pixels wide
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
LONG_CACHE = "public, max-age=31536000, immutable"  # the address names the content
SHORT_CACHE = "public, max-age=60"  # an unversioned address: the current one, soon again


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _mix(colour: str, other: str, share: float) -> str:
    """`colour` with `share` of `other` mixed in, as #rrggbb."""
    mixed = (round(a * (1 - share) + b * share) for a, b in zip(_hex(colour), _hex(other),
                                                              strict=True))
    return "#" + "".join(f"{channel:02x}" for channel in mixed)


def theme_css(settings: OfficeSettingsPublic) -> str:
    """The office's colours as the custom properties the pages' stylesheet uses."""
    primary, accent = settings.colours.primary, settings.colours.accent
    return (":root {\n"
            f"  --brand: {primary};\n"
            f"  --brand-dark: {_mix(primary, '#000000', 0.25)};\n"
            f"  --brand-soft: {_mix(primary, '#ffffff', 0.88)};\n"
            f"  --office-accent: {accent};\n"
            "}\n")


def logo_kind(body: bytes) -> tuple[str, str | None]:
    """The content type of a logo and None, or ("", why it is refused)."""
    if len(body) > MAX_LOGO_BYTES:
        return "", f"The logo is larger than {MAX_LOGO_BYTES // 1024} KB."
    # Imported at the first logo, not at start: Pillow stays out of a gateway's memory until
    # the office changes its logo.
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(body)) as image:
            kind = LOGO_FORMATS.get(image.format or "")
            width, height = image.size
            if kind is None:
                return "", "The logo must be a PNG or JPEG image."
            if width > MAX_LOGO_PIXELS or height > MAX_LOGO_PIXELS:
                return "", f"The logo may be at most {MAX_LOGO_PIXELS} pixels wide and high."
            image.verify()  # a damaged or truncated file is refused here, not on the page
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        return "", "The logo must be a PNG or JPEG image."
    return kind, None


async def store_logo(state: GatewayState, caller: Caller, upload: SpooledUpload,
                     origin: StaffOrigin) -> OfficeSettingsPublic:
    """Check the uploaded logo, store it in the office context, and make it the office's
    (compare-and-set on the settings read just before)."""
    upload.file.seek(0)
    body = upload.file.read(MAX_LOGO_BYTES + 1)
    kind, problem = logo_kind(body)
    if problem is not None:
        raise Invalid(problem, fields={"logo": problem})
    stored = await store_upload(
        state.rpc, state.storage, caller, documents.OFFICE_ASSETS, "Logo",
        replace(upload, content_type=kind),
        documents.DocumentContext(kind=documents.ContextKind.OFFICE))
    current = await state.rpc.call(office.GET_OFFICE, office.GetOfficeRequest())
    changed = current.model_dump(include=set(office.OfficeSettings.model_fields))
    changed.update(logo_document_id=stored.document_id, logo_sha256=stored.sha256)
    updated = await state.rpc.call(office.UPDATE_OFFICE, office.UpdateOfficeRequest(
        caller=caller, settings=office.OfficeSettings(**changed),
        expected_version=current.version, origin=origin))
    state.office.offer(updated)
    state.office.logo = OfficeLogo(stored.sha256, kind, body)
    return updated


async def remove_logo(rpc: RpcCaller, keeper: OfficeKeeper, caller: Caller,
                      origin: StaffOrigin, expected_version: int) -> OfficeSettingsPublic:
    """The office shows no logo any more (the name stands alone in the header)."""
    current = await rpc.call(office.GET_OFFICE, office.GetOfficeRequest())
    changed = current.model_dump(include=set(office.OfficeSettings.model_fields))
    changed.update(logo_document_id=None, logo_sha256=None)
    updated = await rpc.call(office.UPDATE_OFFICE, office.UpdateOfficeRequest(
        caller=caller, settings=office.OfficeSettings(**changed),
        expected_version=expected_version, origin=origin))
    keeper.offer(updated)
    return updated


async def current_logo(state: GatewayState) -> OfficeLogo | None:
    """The current logo's bytes: kept, or fetched from the documents service and checked
    against the hash the settings name."""
    settings = state.office.current()
    if settings.logo_document_id is None or settings.logo_sha256 is None:
        return None
    kept = state.office.logo
    if kept is not None and kept.sha256 == settings.logo_sha256:
        return kept
    ticket = await state.rpc.call(documents.OPEN_OFFICE_ASSET, documents.OpenOfficeAssetRequest(
        document_id=settings.logo_document_id))
    try:
        response = await state.storage.get(ticket.download_url)
    except Exception as error:  # noqa: BLE001 - the store is away: the page shows the name
        log.warning("office logo unreachable", error=str(error))
        raise Unavailable("The logo cannot be read now.") from None
    body = response.content
    if response.status_code != 200 or hashlib.sha256(body).hexdigest() != settings.logo_sha256:
        log.warning("office logo does not match its hash", status=response.status_code)
        raise Unavailable("The logo cannot be read now.")
    logo = OfficeLogo(settings.logo_sha256, ticket.content_type or "image/png", body)
    if state.office.current().logo_sha256 == logo.sha256:
        state.office.logo = logo
    return logo


@router.get("/office/theme.css")
async def office_theme(state: State,
                       v: Annotated[str, Query(max_length=20)] = "") -> Response:
    """The office's colours (public: the login page uses them)."""
    settings = state.office.current()
    cache = LONG_CACHE if v == str(settings.version) else SHORT_CACHE
    return Response(theme_css(settings), media_type="text/css",
                    headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})


@router.get("/office/logo")
async def office_logo(state: State, v: Annotated[str, Query(max_length=64)] = "") -> Response:
    """The office's current logo (public: the login page shows it); no other file."""
    logo = await current_logo(state)
    if logo is None:
        raise NotFound("The office has no logo.")
    cache = LONG_CACHE if v == logo.sha256 else SHORT_CACHE
    return Response(logo.body, media_type=logo.content_type, headers={
        "Cache-Control": cache, "ETag": f'"{logo.sha256}"', "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'"})
