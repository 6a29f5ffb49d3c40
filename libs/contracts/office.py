"""Contracts of the office settings: the broker office's identity and branding (one office per
deployment). The auth service owns them (the office's identity); the gateway (pages) and the
notifier (mails) keep the latest copy, fed by `OfficeSettingsChanged`, and ask `GET_OFFICE` at
start.
"""

from typing import Literal

from pydantic import BaseModel, Field

from libs.contracts.auth import StaffOrigin
from libs.contracts.caller import Caller
from libs.contracts.envelope import Event
from libs.contracts.rpc import RpcMethod

OfficeLanguage = Literal["nl", "fr", "en"]


class OfficeAddresses(BaseModel):
    """The office's e-mail addresses per purpose (a mail to the office goes to the purpose's
    address, else to `general`)."""

    general: str = ""
    claims: str = ""
    signatures: str = ""
    registrations: str = ""


class OfficeColours(BaseModel):
    """Brand colours as #rrggbb; each must reach WCAG AA contrast (4.5:1) against white."""

    primary: str = "#1f4e79"
    accent: str = "#8a4b08"


class OfficeSettings(BaseModel):
    """What the office admin edits; every field has a neutral default so a fresh deployment
    shows a sober, working portal."""

    name: str = "Uw verzekeringsmakelaar"
    postal_address: str = ""
    phone: str = ""
    addresses: OfficeAddresses = Field(default_factory=OfficeAddresses)
    colours: OfficeColours = Field(default_factory=OfficeColours)
    fsma_number: str = ""
    company_number: str = ""  # Belgian enterprise number, checked with python-stdnum
    website: str = ""
    legal_footer: str = ""
    default_language: OfficeLanguage = "nl"
    opening_hours: str = ""
    logo_document_id: str | None = None  # the logo, stored by the documents service
    # The logo's content hash (sha256 hex): pages address the logo by it, so a new logo is
    # fetched at once and an unchanged one stays in the browsers' caches.
    logo_sha256: str | None = None


class OfficeSettingsPublic(OfficeSettings):
    """The settings as stored: `version` grows with every change (consumers keep the highest)."""

    version: int = 0
    updated_by: str | None = None


class GetOfficeRequest(BaseModel):
    pass


class UpdateOfficeRequest(BaseModel):
    caller: Caller
    settings: OfficeSettings
    expected_version: int | None = None  # compare-and-set: a stale form gets a conflict
    origin: StaffOrigin | None = None  # where the change came from, for auth's audit log


GET_OFFICE = RpcMethod("auth.rpc.get_office", GetOfficeRequest, OfficeSettingsPublic)
UPDATE_OFFICE = RpcMethod("auth.rpc.update_office", UpdateOfficeRequest, OfficeSettingsPublic)


class OfficeSettingsChanged(Event):
    """The office admin changed the settings; pages and mails use them from now on."""

    routing_key = "auth.office.settings_changed"

    settings: OfficeSettingsPublic
