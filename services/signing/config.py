"""Settings of the signing service (`MYBROKER_SIGNING_*`)."""

from libs.servicekit.settings import ServiceSettings, env_prefix


class SigningSettings(ServiceSettings):
    model_config = env_prefix("signing")
