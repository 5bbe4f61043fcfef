"""Settings, read once from the environment (and a `.env` file beside the process, if any).

Every setting is documented in `.env.example`; this module is the only place that reads `os.environ`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv

from i18n import LANGUAGES, SOURCE_LANGUAGE, language_of

DEFAULT_DATABASE_URL = "sqlite:///salesops.db"


class ConfigError(ValueError):
    """A setting has a value the bot cannot use."""


def _int(env: dict[str, str], name: str, default: int, lo: int | None = None, hi: int | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"{name} must be between {lo} and {hi}, not {value}.")
    return value


def _on_off(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("on", "true", "yes", "1"):
        return True
    if raw in ("off", "false", "no", "0"):
        return False
    raise ConfigError(f"{name} must be on or off, not {raw!r}.")


def _segment_days(raw: str) -> dict[str, int]:
    """Parse `Enterprise=21,SMB=10` into {"enterprise": 21, "smb": 10}."""
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        name, sep, days = part.partition("=")
        if not sep or not days.strip().isdigit():
            raise ConfigError(
                f"STALLED_DAYS_BY_SEGMENT entries look like Enterprise=21, not {part!r}."
            )
        out[name.strip().lower()] = int(days)
    return out


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HHMM = re.compile(r"^([01]?\d|2[0-3])[:.h]?([0-5]\d)$")


def _weekday(name: str, raw: str) -> int:
    """`Monday`, `mon`, `MON` → 0 … 6."""
    key = raw.strip().lower()
    for i, day in enumerate(WEEKDAYS):
        if len(key) >= 3 and day.startswith(key):
            return i
    raise ConfigError(f"{name} must be a day of the week such as Monday, not {raw!r}.")


def _time_of_day(name: str, raw: str) -> time:
    m = _HHMM.match(raw.strip())
    if not m:
        raise ConfigError(f"{name} must be a time of day as HH:MM (24-hour), not {raw!r}.")
    return time(int(m.group(1)), int(m.group(2)))


def _call_deadline(raw: str) -> tuple[int, time]:
    """FORECAST_CALL_DEADLINE `Tuesday 17:00` → (1, 17:00)."""
    day, _, at = raw.strip().partition(" ")
    if not at.strip():
        raise ConfigError(f"FORECAST_CALL_DEADLINE looks like `Tuesday 17:00` (a weekday and a time), not {raw!r}.")
    return _weekday("FORECAST_CALL_DEADLINE", day), _time_of_day("FORECAST_CALL_DEADLINE", at)


@dataclass(frozen=True)
class CrmSettings:
    """Which CRM to sync from, and how (README "Connecting your CRM"). Empty: no CRM, CSV imports only."""

    salesforce_instance_url: str = ""
    salesforce_login_url: str = "https://login.salesforce.com"
    salesforce_client_id: str = ""
    salesforce_client_secret: str = ""
    salesforce_username: str = ""
    salesforce_private_key_file: str = ""
    salesforce_access_token: str = ""
    salesforce_api_version: str = "v62.0"
    salesforce_bulk_threshold: int = 50000
    hubspot_access_token: str = ""
    hubspot_api_url: str = "https://api.hubapi.com"
    sync_minutes: int = 15
    mapping_file: str = ""
    max_retries: int = 6  # a call refused (429, 5xx) or timed out is tried again this often: 0.5 s, 1 s, 2 s … apart

    @property
    def connector(self) -> str | None:
        """"salesforce" or "hubspot", from the credentials that are set; None when neither is."""
        if self.salesforce_access_token or self.salesforce_client_id:
            return "salesforce"
        if self.hubspot_access_token:
            return "hubspot"
        return None


_SALESFORCE_SECRETS = ("SALESFORCE_ACCESS_TOKEN", "SALESFORCE_CLIENT_ID")


def _crm_settings(env: dict[str, str]) -> CrmSettings:
    get = lambda name: env.get(name, "").strip()  # noqa: E731
    if any(get(n) for n in _SALESFORCE_SECRETS) and get("HUBSPOT_ACCESS_TOKEN"):
        raise ConfigError("Both Salesforce (SALESFORCE_*) and HubSpot (HUBSPOT_ACCESS_TOKEN) credentials are set; "
                          "the bot syncs from one CRM, so unset the other.")
    version = get("SALESFORCE_API_VERSION") or "v62.0"
    return CrmSettings(
        salesforce_instance_url=get("SALESFORCE_INSTANCE_URL").rstrip("/"),
        salesforce_login_url=(get("SALESFORCE_LOGIN_URL") or "https://login.salesforce.com").rstrip("/"),
        salesforce_client_id=get("SALESFORCE_CLIENT_ID"),
        salesforce_client_secret=get("SALESFORCE_CLIENT_SECRET"),
        salesforce_username=get("SALESFORCE_USERNAME"),
        salesforce_private_key_file=get("SALESFORCE_PRIVATE_KEY_FILE"),
        salesforce_access_token=get("SALESFORCE_ACCESS_TOKEN"),
        salesforce_api_version=version if version.startswith("v") else f"v{version}",
        salesforce_bulk_threshold=_int(env, "SALESFORCE_BULK_THRESHOLD", 50000, 1),
        hubspot_access_token=get("HUBSPOT_ACCESS_TOKEN"),
        hubspot_api_url=(get("HUBSPOT_API_URL") or "https://api.hubapi.com").rstrip("/"),
        sync_minutes=_int(env, "CRM_SYNC_MINUTES", 15, 1, 1440),
        mapping_file=get("CRM_MAPPING"),
        max_retries=_int(env, "CRM_MAX_RETRIES", 6, 0, 20),
    )


@dataclass(frozen=True)
class ServingSettings:
    """How the bot serves and protects itself in production (README "Running in production")."""

    http_threads: int = 8
    max_request_body_bytes: int = 1_048_576
    channel_timeout_seconds: int = 30
    connection_limit: int = 200
    shutdown_grace_seconds: int = 20
    rate_limit_per_minute: int = 30
    answer_slots: int = 0  # answers computed at once; 0: the database pool's size
    busy_queue: int = 20
    busy_wait_seconds: int = 20
    metrics_port: int = 0
    log_format: str = "text"
    scheduler: bool = True  # False: this process runs no scheduled jobs (benchmarks; a serving-only replica)
    malloc_arenas: int = 2  # glibc arenas at most (ops/memory.py); 0: glibc's default
    malloc_trim_seconds: int = 30  # seconds between malloc_trim calls; 0: never
    malloc_arena_max_env: str = ""  # MALLOC_ARENA_MAX as set in the environment: glibc applies it, it wins


def _serving_settings(env: dict[str, str]) -> ServingSettings:
    log_format = (env.get("LOG_FORMAT", "").strip() or "text").lower()
    if log_format not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT must be text or json, not {log_format!r}.")
    return ServingSettings(
        http_threads=_int(env, "HTTP_THREADS", 8, 1, 256),
        max_request_body_bytes=_int(env, "MAX_REQUEST_BODY_BYTES", 1_048_576, 1024, 100 * 1_048_576),
        channel_timeout_seconds=_int(env, "HTTP_CHANNEL_TIMEOUT_SECONDS", 30, 1, 3600),
        connection_limit=_int(env, "HTTP_CONNECTION_LIMIT", 200, 1, 100_000),
        shutdown_grace_seconds=_int(env, "SHUTDOWN_GRACE_SECONDS", 20, 0, 3600),
        rate_limit_per_minute=_int(env, "RATE_LIMIT_PER_MINUTE", 30, 0, 100_000),
        answer_slots=_int(env, "ANSWER_SLOTS", 0, 0, 1000),
        busy_queue=_int(env, "BUSY_QUEUE", 20, 0, 10_000),
        busy_wait_seconds=_int(env, "BUSY_WAIT_SECONDS", 20, 1, 600),
        metrics_port=_int(env, "METRICS_PORT", 0, 0, 65535),
        log_format=log_format,
        scheduler=_on_off(env, "SCHEDULER", True),
        malloc_arenas=_int(env, "MALLOC_ARENAS", 2, 0, 1024),
        malloc_trim_seconds=_int(env, "MALLOC_TRIM_SECONDS", 30, 0, 86400),
        malloc_arena_max_env=env.get("MALLOC_ARENA_MAX", "").strip(),
    )


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    fiscal_year_start_month: int = 1
    default_timezone: str = "UTC"
    org_currency: str = "USD"
    default_locale: str = "en"  # the language for people with no setting and no Slack locale the bot speaks
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = ""
    port: int = 3000
    crm_url_template: str = ""
    ops_channel: str = ""
    stalled_no_activity_days: int = 14
    stalled_days_by_segment: dict[str, int] = field(default_factory=dict)
    escalate_after_days: int = 3
    integrity_cron: str = "0 7 * * 1-5"
    digest_time: str = "08:00"
    quiet_hours: str = "20:00-07:00"
    cache_ttl_seconds: int = 60
    log_level: str = "INFO"
    # forecast calls (DESIGN §4a): the weekly reminder's local day and time, and the deadline it states
    forecast_call_day: int = 0  # Monday
    forecast_call_time: time = time(10, 0)
    forecast_call_deadline_day: int = 1  # Tuesday
    forecast_call_deadline_time: time = time(17, 0)
    crm: CrmSettings = field(default_factory=CrmSettings)
    serving: ServingSettings = field(default_factory=lambda: ServingSettings())

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)


def _default_locale(env: dict[str, str]) -> str:
    raw = env.get("DEFAULT_LOCALE", "").strip()
    if not raw:
        return SOURCE_LANGUAGE
    lang = language_of(raw)
    if lang is None:
        raise ConfigError(f"DEFAULT_LOCALE {raw!r} is not a language the bot speaks (one of: {', '.join(LANGUAGES)}).")
    return lang


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build Settings from `env` (default: the process environment after loading `.env`)."""
    if env is None:
        load_dotenv(override=False)
        env = dict(os.environ)
    tz_name = env.get("DEFAULT_TIMEZONE", "").strip() or "UTC"
    deadline_day, deadline_time = _call_deadline(env.get("FORECAST_CALL_DEADLINE", "").strip() or "Tuesday 17:00")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"DEFAULT_TIMEZONE {tz_name!r} is not an IANA time zone (try America/New_York or Europe/Berlin)."
        ) from None
    org_currency = (env.get("ORG_CURRENCY", "").strip() or "USD").upper()
    if not re.fullmatch(r"[A-Z]{3}", org_currency):
        raise ConfigError(f"ORG_CURRENCY {org_currency!r} is not an ISO 4217 code (three letters, like USD or EUR).")
    return Settings(
        database_url=env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
        fiscal_year_start_month=_int(env, "FISCAL_YEAR_START_MONTH", 1, 1, 12),
        default_timezone=tz_name,
        org_currency=org_currency,
        default_locale=_default_locale(env),
        slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
        slack_app_token=env.get("SLACK_APP_TOKEN", "").strip(),
        slack_api_url=env.get("SLACK_API_URL", "").strip(),
        port=_int(env, "PORT", 3000, 1, 65535),
        crm_url_template=env.get("CRM_URL_TEMPLATE", "").strip(),
        ops_channel=env.get("OPS_CHANNEL", "").strip(),
        stalled_no_activity_days=_int(env, "STALLED_NO_ACTIVITY_DAYS", 14, 1, 3650),
        stalled_days_by_segment=_segment_days(env.get("STALLED_DAYS_BY_SEGMENT", "")),
        escalate_after_days=_int(env, "ESCALATE_AFTER_DAYS", 3, 1, 365),
        integrity_cron=env.get("INTEGRITY_CRON", "").strip() or "0 7 * * 1-5",
        digest_time=env.get("DIGEST_TIME", "").strip() or "08:00",
        quiet_hours=env.get("QUIET_HOURS", "").strip() or "20:00-07:00",
        cache_ttl_seconds=_int(env, "CACHE_TTL_SECONDS", 60, 0, 86400),
        log_level=(env.get("LOG_LEVEL", "").strip() or "INFO").upper(),
        forecast_call_day=_weekday("FORECAST_CALL_DAY", env.get("FORECAST_CALL_DAY", "").strip() or "Monday"),
        forecast_call_time=_time_of_day("FORECAST_CALL_TIME", env.get("FORECAST_CALL_TIME", "").strip() or "10:00"),
        forecast_call_deadline_day=deadline_day,
        forecast_call_deadline_time=deadline_time,
        crm=_crm_settings(env),
        serving=_serving_settings(env),
    )
