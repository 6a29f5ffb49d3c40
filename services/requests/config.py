"""Settings of the requests service (`MYBROKER_REQUESTS_*`)."""

from libs.servicekit.settings import ServiceSettings, env_prefix


class RequestsSettings(ServiceSettings):
    model_config = env_prefix("requests")
