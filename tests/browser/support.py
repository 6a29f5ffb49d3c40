"""What several browser tests do the same way: logging in through the login page."""

from playwright.sync_api import Page

from tests.system.stack import SystemStack


def log_in(page: Page, stack: SystemStack, email: str, password: str, *,
           next_page: str | None = None) -> None:
    """Log in on the login page like a user and wait until the portal (or `next_page`) shows."""
    page.goto(f"{stack.gateway_url}/login" + (f"?next={next_page}" if next_page else ""))
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_url(lambda url: "/login" not in url)


def log_in_as_office_admin(page: Page, stack: SystemStack, *,
                           next_page: str | None = None) -> None:
    """Log in as the office admin the stack was started with."""
    log_in(page, stack, stack.config.admin_email, stack.config.admin_password,
           next_page=next_page)
