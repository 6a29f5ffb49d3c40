"""Pure rules of the shared kit: who may see a dossier, settings resolution, error round-trip."""

import pytest

from libs.contracts.caller import Caller, Role
from libs.contracts.errors import ErrorCode
from libs.servicekit.access import require_dossier_access, require_staff
from libs.servicekit.errors import Forbidden, NotFound, ServiceError
from libs.servicekit.settings import ServiceSettings, env_prefix


class ExampleSettings(ServiceSettings):
    model_config = env_prefix("example")
    secret_fields = ("api_secret",)

    api_secret: str = ""


def test_a_client_sees_only_granted_dossiers_and_others_look_absent() -> None:
    client = Caller(user_id="u", role=Role.CLIENT, dossier_ids=["D1"])
    require_dossier_access(client, "D1")
    with pytest.raises(NotFound):
        require_dossier_access(client, "D2")


def test_staff_see_every_dossier_but_clients_cannot_act_as_staff() -> None:
    require_dossier_access(Caller(user_id="a", role=Role.AGENT), "D9")
    require_staff(Caller(user_id="a", role=Role.ADMIN))
    with pytest.raises(Forbidden):
        require_staff(Caller(user_id="u", role=Role.CLIENT, dossier_ids=["D1"]))


def test_service_prefix_wins_over_the_shared_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYBROKER_AMQP_URL", "amqp://shared/")
    monkeypatch.setenv("MYBROKER_MONGO_URL", "mongodb://shared")
    monkeypatch.setenv("MYBROKER_EXAMPLE_MONGO_URL", "mongodb://own")
    settings = ExampleSettings()
    assert settings.amqp_url == "amqp://shared/"
    assert settings.mongo_url == "mongodb://own"
    assert settings.database_name("example") == "mybroker_example"


def test_production_refuses_to_start_without_its_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYBROKER_ENVIRONMENT", "prod")
    with pytest.raises(ValueError, match="api_secret"):
        ExampleSettings()
    monkeypatch.setenv("MYBROKER_EXAMPLE_API_SECRET", "s3cr3t-from-the-environment")
    assert ExampleSettings().api_secret == "s3cr3t-from-the-environment"


def test_an_error_received_over_the_bus_becomes_the_same_typed_error() -> None:
    error = ServiceError.from_code(ErrorCode.NOT_FOUND, "gone fishing", {"id": "unknown"})
    assert isinstance(error, NotFound)
    assert error.detail == "gone fishing"
    assert error.fields == {"id": "unknown"}
