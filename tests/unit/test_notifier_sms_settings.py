"""The SMS settings an operator writes: an incomplete provider is refused at start, and the
provider's field names come from one JSON variable."""

import pytest
from pydantic import ValidationError

from services.notifier.config import NotifierSettings


def test_the_http_provider_without_its_credentials_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYBROKER_NOTIFIER_SMS_PROVIDER", "http")
    monkeypatch.setenv("MYBROKER_NOTIFIER_SMS_API_URL", "https://sms.provider.test/v1/messages")
    with pytest.raises(ValidationError, match="needs sms_api_url and sms_api_headers"):
        NotifierSettings()


def test_the_providers_field_names_are_read_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYBROKER_NOTIFIER_SMS_PROVIDER", "http")
    monkeypatch.setenv("MYBROKER_NOTIFIER_SMS_API_URL", "https://sms.provider.test/v1/messages")
    monkeypatch.setenv("MYBROKER_NOTIFIER_SMS_API_HEADERS",
                       '{"X-Client-Id": "id-1", "X-Client-Secret": "s3cret"}')
    monkeypatch.setenv("MYBROKER_NOTIFIER_SMS_API_FIELDS",
                       '{"to": "recipients[]", "sender": "originator", "text": "body"}')
    settings = NotifierSettings()
    assert settings.sms_api_headers == {"X-Client-Id": "id-1", "X-Client-Secret": "s3cret"}
    assert settings.sms_api_fields == {"to": "recipients[]", "sender": "originator",
                                       "text": "body"}


def test_the_sink_is_the_default_so_dev_and_tests_never_reach_a_real_phone() -> None:
    assert NotifierSettings().sms_provider == "sink"


def test_an_empty_headers_variable_means_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # What compose's `${MYBROKER_SMS_API_HEADERS:-}` gives when the operator set nothing.
    monkeypatch.setenv("MYBROKER_NOTIFIER_SMS_API_HEADERS", "")
    assert NotifierSettings().sms_api_headers == {}


def test_malformed_credentials_are_refused_without_echoing_them(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYBROKER_NOTIFIER_SMS_API_HEADERS", '{"X-Client-Secret": "s3cret"')
    with pytest.raises(ValidationError) as refused:
        NotifierSettings()
    assert "sms_api_headers" in str(refused.value) and "s3cret" not in str(refused.value)
