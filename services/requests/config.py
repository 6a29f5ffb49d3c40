"""Settings of the requests service (`MYBROKER_REQUESTS_*`)."""

from libs.servicekit.settings import ServiceSettings, env_prefix


class RequestsSettings(ServiceSettings):
    model_config = env_prefix("requests")

    # Per account: this many messages at once, then one per interval (a person writing to the
    # office never notices; a script flooding the office's inbox is held back).
    message_burst: int = 5
    message_interval_seconds: float = 12.0
    # Per account: this many attachment uploads (each up to 10 files) at once, then one per
    # interval.
    attachment_burst: int = 10
    attachment_interval_seconds: float = 6.0
    # The client sheet (manual 4.5): due again this many days after its last confirmation; the
    # job looking for due sheets (and emitting their reminders) runs this often.
    client_sheet_validity_days: float = 365.0
    client_sheet_check_seconds: float = 3600.0
    # Per account: this many confirmed sheets at once, then one per interval.
    client_sheet_burst: int = 3
    client_sheet_interval_seconds: float = 600.0
