"""The slack-bolt App and its Web API client (HTTP mode's server is handlers.server).

Socket Mode when SLACK_APP_TOKEN is set; otherwise HTTP mode on PORT. SLACK_API_URL points the client at
another Web API (a proxy, or the fake Slack server in tests).
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from config import Settings
from handlers import actions, commands, events, views
from handlers.deps import BotDeps
from handlers.server import serve_http  # noqa: F401 - HTTP mode's server, where callers have always found it
from ops import telemetry

log = logging.getLogger(__name__)


class CountedWebClient(WebClient):
    """A WebClient that counts its calls by method and result (salesbot_slack_api_calls)."""

    def api_call(self, api_method: str, **kwargs):
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            status = exc.response.get("error") or str(exc.response.status_code)
            telemetry.SLACK_CALLS.labels(method=api_method, status=status).inc()
            raise
        except Exception:
            telemetry.SLACK_CALLS.labels(method=api_method, status="connection_error").inc()
            raise
        telemetry.SLACK_CALLS.labels(method=api_method, status="ok").inc()
        return response


class _CountedRetries:
    """Counts each retry a handler decides on (salesbot_slack_api_retries), then lets the handler wait."""

    def prepare_for_next_attempt(self, *, state, request, response=None, error=None) -> None:
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        reason = str(response.status_code) if response is not None else "connection"
        telemetry.SLACK_RETRIES.labels(method=method, reason=reason).inc()
        super().prepare_for_next_attempt(state=state, request=request, response=response, error=error)


class _RateLimitRetries(_CountedRetries, RateLimitErrorRetryHandler):
    pass


class _ServerErrorRetries(_CountedRetries, ServerErrorRetryHandler):
    pass


class _ConnectionRetries(_CountedRetries, ConnectionErrorRetryHandler):
    pass


def web_client(settings: Settings) -> WebClient:
    """A WebClient that retries 429s after Retry-After, and 5xx / connection errors with backoff."""
    kwargs = {"token": settings.slack_bot_token, "timeout": 15}
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url.rstrip("/") + "/"
    client = CountedWebClient(**kwargs)
    client.retry_handlers.extend([
        _RateLimitRetries(max_retry_count=5),
        _ServerErrorRetries(max_retry_count=3),
        _ConnectionRetries(max_retry_count=3),
    ])
    return client


def build_app(deps: BotDeps, client: WebClient | None = None) -> App:
    app = App(
        client=client or web_client(deps.settings),
        signing_secret=deps.settings.slack_signing_secret,
        # auth.test once, now: bolt caches it, so no request waits on it before its ack
        token_verification_enabled=True,
        process_before_response=False,
        listener_executor=deps.workers,
    )

    @app.middleware
    def count_slack_calls(context, next):  # noqa: A002 - bolt's name for the rest of the chain
        """bolt gives each request its own plain WebClient (a copy of app.client's settings); it becomes a
        CountedWebClient, which only adds counting to api_call, so listeners' calls are counted too."""
        if type(context.client) is WebClient:
            context.client.__class__ = CountedWebClient
        return next()

    for kind in (commands, events, actions, views):
        kind.register(app, deps)
    return app
