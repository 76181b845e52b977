"""Application settings read from JVAP_* environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SUPPORTED_BACKENDS = ("sqlite", "postgresql")


class Settings(BaseSettings):
    """Everything configurable about a jvap deployment."""

    model_config = SettingsConfigDict(env_prefix="JVAP_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/jvap.db"
    exports_dir: Path = Path("exports")
    campaigns_dir: Path = Path("campaigns")
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # Bound on the uncompressed size of an uploaded workbook (zip bombs).
    upload_max_uncompressed_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    # None means "generate one per process": fine for development, sessions end on restart.
    secret_key: SecretStr | None = None
    token_ttl_days: int = Field(default=90, gt=0)
    session_ttl_hours: int = Field(default=12, gt=0)
    invitation_ttl_days: int = Field(default=7, gt=0)
    session_cookie_secure: bool = False
    # Read the summaries' copy of the registry when the server starts, so that the first
    # summary a user asks for does not wait for it (`jvap serve` turns it on).
    warm_summaries: bool = False

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        if url.get_backend_name() not in SUPPORTED_BACKENDS:
            raise ValueError(
                f"unsupported database {url.get_backend_name()!r}; use sqlite or postgresql"
            )
        if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
            # psycopg 3 is the driver we install; plain postgresql:// would look for psycopg2.
            value = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return value

    @field_validator("secret_key")
    @classmethod
    def _check_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("JVAP_SECRET_KEY must be at least 32 characters")
        return value


@lru_cache
def get_settings() -> Settings:
    """Settings of this process, read once."""
    return Settings()
