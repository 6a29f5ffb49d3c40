"""Settings base: each service reads `MYBROKER_<NAME>_*`, falling back to shared `MYBROKER_*`."""

from typing import ClassVar, Literal

from pydantic import model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

Environment = Literal["dev", "test", "prod"]


class ServiceSettings(BaseSettings):
    """Infrastructure settings every service has. Subclasses set `env_prefix` and add their own.

    Fields listed in `secret_fields` must be set explicitly outside dev/test: no default secret
    ever reaches production.
    """

    # Never echo values (secrets) in a validation error.
    model_config = SettingsConfigDict(extra="ignore", hide_input_in_errors=True)
    secret_fields: ClassVar[tuple[str, ...]] = ()

    environment: Environment = "dev"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    mongo_url: str = "mongodb://127.0.0.1:27017"
    mongo_db: str = ""  # empty -> "<mongo_db_prefix>_<service>"
    mongo_db_prefix: str = "mybroker"  # test runs use their own prefix
    health_host: str = "127.0.0.1"
    health_port: int = 0  # 0 -> no health server (tests)
    log_level: str = "INFO"
    rpc_prefetch: int = 64  # RPC requests handled at once; more wait in the queue
    event_prefetch: int = 16
    rpc_timeout_seconds: float = 5.0
    # Retention (libs/servicekit/retention.py): days per data class the office changed from
    # the defaults (deploy/README.md, "Retention"), as JSON; and how often the job runs.
    retention_days: dict[str, int] = {}
    retention_check_seconds: float = 3600.0
    # Crash tests only (tests/faults): the share of handled events after which the process
    # kills itself before the ack, its effect done; refused in production.
    fault_kill_before_ack: float = 0.0

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Service prefix first, then the shared `MYBROKER_` prefix (one AMQP URL for all)."""
        shared = EnvSettingsSource(settings_cls, env_prefix="MYBROKER_")
        return init_settings, env_settings, shared, file_secret_settings

    @model_validator(mode="after")
    def _secrets_are_set_outside_dev(self) -> "ServiceSettings":
        if self.environment == "prod" and self.fault_kill_before_ack:
            raise ValueError("fault_kill_before_ack is a test hook; it is refused in prod")
        if self.environment == "prod":
            missing = [name for name in self.secret_fields if not getattr(self, name)]
            if missing:
                raise ValueError(f"secrets must be set in production: {', '.join(missing)}")
        return self

    def database_name(self, service: str) -> str:
        """The service's own database (services never read each other's)."""
        return self.mongo_db or f"{self.mongo_db_prefix}_{service}"


def env_prefix(service: str) -> SettingsConfigDict:
    """The settings config of one service: `MYBROKER_<SERVICE>_` prefixed variables."""
    return SettingsConfigDict(
        env_prefix=f"MYBROKER_{service.upper()}_", extra="ignore", hide_input_in_errors=True
    )
