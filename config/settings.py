"""Settings from the environment (or a `.env` file), built once by `get_settings()`."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The YAML rules shipped with the project, used when the working directory has no config/.
BUNDLED_CONFIG_DIR = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADRELAY_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///leadrelay.db"
    config_dir: Path | None = None
    email_backend: str = Field(default="outbox", pattern="^(outbox|sendgrid)$")
    outbox_dir: Path = Path("outbox")
    sendgrid_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SENDGRID_API_KEY", "LEADRELAY_SENDGRID_API_KEY")
    )
    sendgrid_secret_block: str | None = None
    sendgrid_host: str = "https://api.sendgrid.com"
    # The Event Webhook's verification key (base64, as SendGrid shows it); unset: unsigned posts are refused.
    sendgrid_webhook_public_key: str | None = None
    # 1: without a key, accept unsigned Event Webhook posts (local demos only; `leadrelay web` warns).
    sendgrid_webhook_allow_unsigned: bool = False
    from_email: str = "marketing@example.com"
    from_name: str = "leadrelay"
    postal_address: str = "leadrelay demo, 1 Example Street, 10115 Berlin, Germany"
    base_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr | None = None
    batch_size: int = Field(default=3000, ge=1)
    # Scoring batches a flow runs at once on PostgreSQL, so one batch's database work overlaps the
    # next one's Python work (SQLite has one writer: always 1 there).
    concurrent_batches: int = Field(default=2, ge=1, le=16)
    # First retry delay for a failed send; doubles per attempt (Retry-After wins when given).
    send_retry_base_seconds: float = Field(default=30, gt=0)
    # How long one send run waits for retries that fall due soon, before leaving them to the next run.
    send_max_wait_seconds: float = Field(default=20, ge=0)
    # Form intake (`POST /forms/{name}`): the largest body read, in bytes; a larger post gets 413
    # and only its first bytes are read, so a huge post never sits in memory.
    form_max_bytes: int = Field(default=16384, ge=1)
    # Unsigned form posts per client IP per minute (a token bucket, in memory, per process); 0: no limit.
    form_rate_per_minute: int = Field(default=30, ge=0)
    # Shared secret for server-to-server form posts signed with `X-Leadrelay-Signature: sha256=<hex
    # HMAC-SHA256 of the raw body>`; signed posts skip the rate limit and the honeypot check.
    form_secret: SecretStr | None = None
    # 1: refuse unsigned form posts (401), for deployments where only servers post forms.
    form_require_signature: bool = False
    # Shared secret for `POST /webhooks/crm` (outcomes from a CRM): each post is signed with
    # HMAC-SHA256 over "<X-Leadrelay-Timestamp>.<raw body>"; unset: every CRM post is refused.
    crm_webhook_secret: SecretStr | None = None

    # `GET /report` (HTTP Basic): both must be set, else the page refuses everyone (403); never public by default.
    report_user: str | None = Field(default=None, max_length=200)
    report_password: SecretStr | None = None

    def rules_dir(self) -> Path:
        """Where the YAML rules live: the setting, else ./config if it has them, else the bundled ones."""
        if self.config_dir is not None:
            return self.config_dir
        local = Path("config")
        return local if (local / "scoring.yaml").exists() else BUNDLED_CONFIG_DIR


@lru_cache
def get_settings() -> Settings:
    return Settings()
