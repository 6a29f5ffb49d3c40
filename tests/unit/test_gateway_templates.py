"""The pages' CSP runs only scripts and styles from /static: a template with an inline handler
(onchange=...), an inline script or an inline style would do nothing in the browser."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

TEMPLATE_DIR = Path(__file__).parents[2] / "gateway" / "web" / "templates"
TEMPLATES = sorted(str(path.relative_to(TEMPLATE_DIR)) for path in TEMPLATE_DIR.rglob("*.html"))


class _InlineCode(HTMLParser):
    """Collects what the CSP would block: on* and hx-on attributes, style attributes, <style>
    elements and <script> elements with a body or without a src."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower() for name, _ in attrs}
        for name in names:
            if re.fullmatch(r"on[a-z]+|hx-on.*|style", name):
                self.found.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.found.append("<style>")
        if tag == "script":
            self._in_script = True
            if "src" not in names:
                self.found.append("<script> without src")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"<script> body: {data.strip()[:40]}")


def inline_code(html: str) -> list[str]:
    """What in `html` the pages' CSP would refuse to run."""
    parser = _InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


@pytest.mark.parametrize("template", TEMPLATES)
def test_no_template_has_an_inline_handler_script_or_style(template: str) -> None:
    assert inline_code((TEMPLATE_DIR / template).read_text()) == []


def test_the_scan_finds_each_kind_of_inline_code() -> None:
    assert inline_code('<select name="type" onchange="this.form.submit()"></select>') == [
        "<select onchange=...>"]
    assert inline_code('<button hx-on:click="go()">x</button>') == ["<button hx-on:click=...>"]
    assert inline_code("<script>alert(1)</script>") == [
        "<script> without src", "<script> body: alert(1)"]
    assert inline_code('<p style="color: red">x</p><style>p {}</style>') == [
        "<p style=...>", "<style>"]
    assert inline_code('<script src="/static/app.js" defer></script>') == []
