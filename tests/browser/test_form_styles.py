"""Every field looks the same (date, phone, search, untyped inputs, lists, text areas: the text
field's border, padding, font size and height), and an account's labels sit above their values."""

from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.support import log_in_as_office_admin
from tests.system.stack import ClientLogin, SystemStack, fixture_dossier

pytestmark = pytest.mark.browser
DUPONT = fixture_dossier("dupont")["dossier_id"]
VIEWPORTS = [{"width": 390, "height": 844}, {"width": 1440, "height": 900}]
# Per visible field: its look beside the look of a text input put in the same place.
FIELD_LOOKS = """() => {
  const look = element => {
    const style = getComputedStyle(element);
    return {
      border: [style.borderTopWidth, style.borderTopStyle, style.borderTopColor,
               style.borderRadius].join(" "),
      padding: [style.paddingTop, style.paddingLeft].join(" "),
      font: [style.fontSize, style.fontFamily].join(" "),
      background: style.backgroundColor,
      height: Math.round(element.getBoundingClientRect().height),
    };
  };
  const skipped = ["hidden", "checkbox", "radio", "file", "submit", "button"];
  return [...document.querySelectorAll("main input, main select, main textarea")]
    .filter(field => !skipped.includes(field.type) && field.getClientRects().length)
    .map(field => {
      const text = document.createElement("input");
      text.type = "text";
      field.after(text);
      const reference = look(text);
      text.remove();
      const own = look(field);
      if (field.tagName === "TEXTAREA") { delete own.height; delete reference.height; }
      return {field: `${field.tagName.toLowerCase()}#${field.id}[${field.type}]`, own, reference};
    });
}"""


def _fields_differing_from_a_text_input(page: Page) -> list[dict[str, Any]]:
    looks = page.evaluate(FIELD_LOOKS)
    assert looks, "no field on " + page.url
    return [look for look in looks if look["own"] != look["reference"]]


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=["phone", "desktop"])
def test_every_field_on_the_forms_looks_like_a_text_field(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin,
    viewport: dict[str, int],
) -> None:
    page = browser.new_page(locale="nl-BE", viewport=viewport)  # type: ignore[arg-type]
    try:
        page.goto(f"{system_stack.gateway_url}/register")
        assert _fields_differing_from_a_text_input(page) == []
        log_in_as_office_admin(page, system_stack)
        for path in (f"/admin/accounts?email={quote(dupont_family.email)}",
                     f"/admin/documents?dossier_id={DUPONT}", "/admin/account-list"):
            page.goto(system_stack.gateway_url + path)
            assert _fields_differing_from_a_text_input(page) == [], path
    finally:
        page.close()


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=["phone", "desktop"])
def test_the_account_details_show_each_label_above_its_value(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin,
    viewport: dict[str, int],
) -> None:
    page = browser.new_page(locale="nl-BE", viewport=viewport)  # type: ignore[arg-type]
    try:
        log_in_as_office_admin(page, system_stack)
        page.goto(f"{system_stack.gateway_url}/admin/accounts?email={quote(dupont_family.email)}")
        pairs = page.evaluate("""() => [...document.querySelectorAll("#account dt")].map(dt => {
          const dd = dt.nextElementSibling, label = dt.getBoundingClientRect(),
                value = dd.getBoundingClientRect();
          return {label: dt.textContent, value: dd.textContent, labelLeft: label.left,
                  valueLeft: value.left, labelBottom: label.bottom, valueTop: value.top,
                  gap: value.top - label.bottom};
        })""")
        assert [pair["label"] for pair in pairs] == ["E-mailadres", "Status", "Dossiers"]
        assert pairs[0]["value"] == dupont_family.email
        for pair in pairs:  # the value right under its label, in the same column
            assert abs(pair["valueLeft"] - pair["labelLeft"]) < 1, pair
            assert 0 <= pair["gap"] < 8, pair
    finally:
        page.close()
