"""Settings of the auth service refuse unsafe values at start."""

import pytest
from pydantic import ValidationError

from services.auth.config import AuthSettings


def test_an_access_token_lifetime_above_five_minutes_is_refused() -> None:
    with pytest.raises(ValidationError, match="access_token_seconds"):
        AuthSettings(access_token_seconds=301)


def test_argon2_below_the_owasp_minimum_is_refused() -> None:
    with pytest.raises(ValidationError, match="argon2_memory_kib"):
        AuthSettings(argon2_memory_kib=8192)
    with pytest.raises(ValidationError, match="argon2_time_cost"):
        AuthSettings(argon2_time_cost=1)


def test_production_without_a_signing_key_does_not_start() -> None:
    with pytest.raises(ValidationError, match="jwt_private_key_path"):
        AuthSettings(environment="prod", jwt_private_key_path="")


def test_a_bootstrap_admin_without_password_does_not_start() -> None:
    with pytest.raises(ValidationError, match="BOOTSTRAP_ADMIN_PASSWORD is missing"):
        AuthSettings(bootstrap_admin_email="admin@office.be", bootstrap_admin_password="")


def test_a_bootstrap_admin_with_a_short_password_does_not_start() -> None:
    with pytest.raises(ValidationError, match="at least 12 characters"):
        AuthSettings(bootstrap_admin_email="admin@office.be", bootstrap_admin_password="short")


def test_the_defaults_follow_the_brief() -> None:
    settings = AuthSettings(bootstrap_admin_email="", bootstrap_admin_password="")
    assert settings.access_token_seconds == 300
    assert settings.invitation_days == 7
    assert settings.password_hashing_concurrency == 2
    assert (settings.argon2_memory_kib, settings.argon2_time_cost) == (19456, 2)
