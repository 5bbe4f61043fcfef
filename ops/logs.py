"""The process's log: plain text, or JSON lines with LOG_FORMAT=json; secrets never written either way.

Every record passes through `RedactingFormatter`, which replaces the configured secrets (Slack tokens, the signing
secret, CRM credentials, the database password) and anything shaped like a Slack or bearer token with
"[redacted]", in the message, its arguments and any traceback, whichever library logged it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

REDACTED = "[redacted]"
# Slack tokens (xoxb-, xoxp-, xapp-, …) and "Bearer …" headers, whoever logs them
_TOKEN_SHAPES = re.compile(r"\b(?:xox[a-z]|xapp)-[A-Za-z0-9-]+|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
# fields a request line carries (logging's `extra=`), written as JSON keys
REQUEST_FIELDS = ("request_id", "user", "subcommand", "duration_ms", "outcome", "error_id")
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Formats a record (as text, or as one JSON object a line) with every secret taken out."""

    def __init__(self, secrets: Iterable[str] = (), *, as_json: bool = False):
        super().__init__(_TEXT_FORMAT)
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self.as_json = as_json

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_SHAPES.sub(REDACTED, text)

    def format(self, record: logging.LogRecord) -> str:
        if not self.as_json:
            return self.redact(super().format(record))
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        entry.update({name: getattr(record, name) for name in REQUEST_FIELDS if hasattr(record, name)})
        if record.exc_info:
            entry["trace"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(entry, default=str, ensure_ascii=False))


def secrets_of(settings) -> list[str]:
    """Every credential in the settings: the values a log must never show."""
    from sqlalchemy.engine import make_url

    crm = settings.crm
    values = [settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token,
              crm.salesforce_client_secret, crm.salesforce_access_token, crm.hubspot_access_token]
    with contextlib.suppress(Exception):  # a bad URL is reported elsewhere; nothing to hide in it
        values.append(make_url(settings.database_url).password or "")
    return [v for v in values if v]


def configure_logging(settings) -> None:
    """The root logger writes to stderr in the chosen format, with the settings' secrets redacted. Like
    logging.basicConfig, it leaves a root logger that already has handlers alone (an embedding program's, pytest's)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(secrets_of(settings), as_json=settings.serving.log_format == "json"))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
