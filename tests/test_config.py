"""Settings: defaults and start-up validation."""

import pytest
from pydantic import ValidationError

from jvap.config import Settings


def test_defaults_use_an_embedded_sqlite_file() -> None:
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite:///./var/jvap.db"
    assert settings.upload_max_bytes == 10 * 1024 * 1024


def test_plain_postgresql_url_gets_the_installed_driver() -> None:
    settings = Settings(database_url="postgresql://u@localhost/jvap")
    assert settings.database_url.startswith("postgresql+psycopg://")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("database_url", "not a url", "not a database URL"),
        ("database_url", "mysql://root@localhost/jvap", "unsupported database"),
        ("secret_key", "short", "at least 32 characters"),
        ("upload_max_bytes", 0, "greater than 0"),
    ],
)
def test_bad_settings_fail_with_a_clear_message(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**{field: value})


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JVAP_UPLOAD_MAX_BYTES", "1234")
    assert Settings().upload_max_bytes == 1234
