"""Settings of the notifier service (`MYBROKER_NOTIFIER_*`)."""

from pydantic import model_validator

from libs.servicekit.settings import ServiceSettings, env_prefix


class NotifierSettings(ServiceSettings):
    model_config = env_prefix("notifier")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False  # dev's SMTP sink speaks plain SMTP; production relays need True
    smtp_timeout_seconds: float = 30.0
    from_email: str = "MyBroker <no-reply@mybroker.local>"
    office_email: str = "office@mybroker.local"  # where "new message" mails for the office go
    office_language: str = "nl"
    public_url: str = "http://127.0.0.1:8000"  # base of the links in mails
    # Messages of one dossier arriving within this window make one office mail, not one each.
    office_digest_window_seconds: float = 60.0
    # How often due office mails are sent and stalled hand-offs looked for.
    mail_check_seconds: float = 5.0
    # A mail still `sending` this long after its hand-off began was cut off by a crash (no
    # SMTP exchange lasts longer than the timeout): it becomes `uncertain`, for staff to decide.
    sending_stalled_after_seconds: float = 120.0
    # FAULT-INJECTION HOOK, for the crash tests only: when set, the process kills itself
    # (SIGKILL) right after SMTP accepted a mail to an address containing this text, before the
    # outcome is recorded. Refused in production.
    fault_kill_after_smtp_to: str = ""

    @model_validator(mode="after")
    def _no_fault_injection_in_production(self) -> "NotifierSettings":
        if self.environment == "prod" and self.fault_kill_after_smtp_to:
            raise ValueError("fault_kill_after_smtp_to is a test hook; it is refused in prod")
        return self
