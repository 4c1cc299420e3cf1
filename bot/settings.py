"""Application settings, read from the environment and `.env` (see `.env.example`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "mocbot.sqlite3"


def _parse_id_list(value: Any) -> Any:
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").split(",")]
        return [int(p) for p in parts if p]
    if isinstance(value, int):
        return [value]
    return value


class Settings(BaseSettings):
    """All settings of the bot. Every field is documented in `.env.example`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- Telegram -----------------------------------------------------------------
    bot_token: SecretStr | None = None
    telegram_api_url: str | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    staff_chat_id: int | None = None

    # --- MAX (a second channel for parents; staff stay in Telegram) -----------------
    max_bot_token: SecretStr | None = None
    max_api_url: str | None = None  # empty: MAX's own API; a local stand-in in tests
    # MAX: 30 requests per second for ALL requests of a bot (answers, edits, uploads too).
    max_rate: float = Field(default=28.0, gt=0, le=1000)
    max_webhook_url: str | None = None  # empty: long polling (MAX: for development only)
    max_webhook_secret: SecretStr | None = None
    max_webhook_port: int = Field(default=8443, ge=1, le=65535)

    # --- Storage ------------------------------------------------------------------
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DB_PATH}"
    redis_url: str | None = None

    # --- Locale and content ---------------------------------------------------------
    timezone: str = "Asia/Irkutsk"
    content_dir: Path = PROJECT_ROOT / "content"
    default_municipality: str | None = None

    # --- Behaviour ------------------------------------------------------------------
    log_level: str = "INFO"
    throttle_rate: float = 1.0
    throttle_burst: int = 5
    # Telegram: about 30 messages per second per bot. Slots are evenly spaced a little below it:
    # a late request can arrive next to the following one, and a strict window has no slack.
    telegram_rate: float = Field(default=28.0, gt=0, le=1000)
    # Updates handled at once; more wait in line (polling reads on when one finishes).
    update_concurrency: int = Field(default=64, ge=1, le=10_000)

    # --- Local console ------------------------------------------------------------------
    # Files the bot sends in the console (reports, calendar files, exports) are saved here.
    console_files_dir: Path = PROJECT_ROOT / "data" / "console-files"

    # --- Announcements ----------------------------------------------------------------
    broadcast_concurrency: int = Field(default=16, ge=1, le=256)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        return _parse_id_list(value)

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Irkutsk)") from exc
        return value

    @field_validator("telegram_api_url", "redis_url", "max_api_url", "max_webhook_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("bot_token", "max_bot_token", "max_webhook_secret", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("staff_chat_id", mode="before")
    @classmethod
    def _empty_chat_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("throttle_rate")
    @classmethod
    def _positive_rate(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be positive")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids
