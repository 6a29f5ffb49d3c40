"""The office settings' rules: brand colours readable on the page, the Belgian enterprise
number, addresses, website, FSMA number and lengths; each refusal names its field."""

import pytest

from libs.contracts.office import OfficeAddresses, OfficeColours, OfficeSettings
from services.auth.office.domain import (
    changed_fields,
    checked_settings,
    colour_problem,
    company_number,
    contrast_ratio,
)


def test_contrast_ratio_follows_wcag() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    # #767676 is the classic lightest grey that passes AA on white
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


def test_a_light_colour_is_refused_with_its_measured_contrast() -> None:
    problem = colour_problem("#ffcc00")
    assert problem is not None and "1.51:1" in problem and "4.5:1" in problem
    assert colour_problem("#767676") is None
    assert colour_problem("#777777") is not None  # 4.48:1, just below


@pytest.mark.parametrize("value", ["1f4e79", "#1f4e7", "#1f4e79ff", "blue", "#gggggg", ""])
def test_a_colour_not_written_as_rrggbb_is_refused(value: str) -> None:
    assert "#rrggbb" in (colour_problem(value) or "")


@pytest.mark.parametrize("typed", ["0403.170.701", "BE 0403 170 701", "be0403170701",
                                   "403170701"])
def test_the_enterprise_number_is_normalised(typed: str) -> None:
    assert company_number(typed) == ("0403.170.701", None)


@pytest.mark.parametrize("typed", ["0403.170.702", "2403.170.701", "12345", "BE-abc"])
def test_a_wrong_enterprise_number_is_refused(typed: str) -> None:
    value, problem = company_number(typed)
    assert value == typed and problem is not None


def test_valid_settings_are_normalised() -> None:
    settings, problems = checked_settings(OfficeSettings(
        name="  Verzekeringen   Peeters ", postal_address="Kerkstraat 1  \r\n2000 Antwerpen\n",
        phone="+32 3 123 45 67", company_number="BE0403170701", fsma_number="114389 A",
        website="https://www.peeters.be", default_language="fr",
        addresses=OfficeAddresses(general="Info@Peeters.BE"),
        colours=OfficeColours(primary="#1F4E79", accent="#8a4b08")))
    assert problems == {}
    assert settings.name == "Verzekeringen Peeters"
    assert settings.postal_address == "Kerkstraat 1\n2000 Antwerpen"
    assert settings.company_number == "0403.170.701"
    assert settings.addresses.general == "info@peeters.be"
    assert settings.colours.primary == "#1f4e79"
    assert settings.default_language == "fr"


def test_every_bad_field_is_named() -> None:
    _, problems = checked_settings(OfficeSettings(
        name=" ", phone="call us", fsma_number="FSMA registered", website="http://peeters.be",
        company_number="0403.170.702", legal_footer="x" * 1001,
        addresses=OfficeAddresses(claims="not-an-address"),
        colours=OfficeColours(primary="#ffff00"), logo_document_id="doc-1"))
    assert set(problems) == {"name", "phone", "fsma_number", "website", "company_number",
                             "legal_footer", "addresses.claims", "colours.primary",
                             "logo_document_id"}
    assert "1.07:1" in problems["colours.primary"]


@pytest.mark.parametrize("website", ["https://peeters", "https://user:pw@peeters.be",
                                     "javascript:alert(1)", "https://peeters .be"])
def test_a_website_must_be_an_https_address(website: str) -> None:
    assert "website" in checked_settings(OfficeSettings(website=website))[1]


@pytest.mark.parametrize("number", ["114389", "114389 A", "0123456 A-cB", "114389A"])
def test_fsma_numbers_are_taken_leniently(number: str) -> None:
    assert checked_settings(OfficeSettings(fsma_number=number))[1] == {}


def test_the_defaults_pass_their_own_rules() -> None:
    assert checked_settings(OfficeSettings())[1] == {}


def test_changed_fields_lists_what_differs() -> None:
    before = OfficeSettings()
    after = OfficeSettings(name="Peeters", colours=OfficeColours(primary="#000000"))
    assert changed_fields(before, after) == ["name", "colours.primary"]
