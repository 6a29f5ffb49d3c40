"""Settings of the notifier service (`MYBROKER_NOTIFIER_*`)."""

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
