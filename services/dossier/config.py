"""Settings of the dossier service (`MYBROKER_DOSSIER_*`)."""

from libs.servicekit.settings import ServiceSettings, env_prefix


class DossierSettings(ServiceSettings):
    model_config = env_prefix("dossier")
