"""The bot's Prometheus metrics (README "Running in production"), served at GET /metrics.

Counters and histograms live in prometheus-client's default registry, one set per process; the gauges that are
read at scrape time (leader status, database pool, CRM sync lag) come from a `StateCollector` bound to the
serving bot's engine. Label values are closed sets (subcommand names, Slack method names, job ids, delivery
kinds, outcomes), never free text, so a series count cannot grow with what users type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUESTS = Counter("salesbot_requests", "Questions answered, by subcommand and outcome.",
                   ["subcommand", "outcome"])
REQUEST_SECONDS = Histogram("salesbot_request_seconds", "Time to build an answer, by subcommand and outcome.",
                            ["subcommand", "outcome"],
                            buckets=(0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10, 30))
ACK_SECONDS = Histogram("salesbot_ack_seconds", "Time from a Slack request's arrival to its HTTP answer (the ack).",
                        buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5))
HTTP_REQUESTS = Counter("salesbot_http_requests", "HTTP requests served, by path and status.", ["path", "status"])
SLACK_CALLS = Counter("salesbot_slack_api_calls", "Slack Web API calls, by method and status (ok or the error).",
                      ["method", "status"])
SLACK_RETRIES = Counter("salesbot_slack_api_retries", "Slack Web API retries, by method and why (HTTP status or "
                        "connection).", ["method", "reason"])
JOB_RUNS = Counter("salesbot_job_runs", "Scheduled job runs, by job.", ["job"])
JOB_FAILURES = Counter("salesbot_job_failures", "Scheduled job runs that raised, by job.", ["job"])
DELIVERIES = Counter("salesbot_deliveries", "Scheduled messages, by kind and outcome (sent, failed, skipped).",
                     ["kind", "outcome"])
CACHE_LOOKUPS = Counter("salesbot_cache_lookups", "Result-cache lookups, by result (hit or miss).", ["result"])
LIMITED = Counter("salesbot_fair_use_refusals", "Requests answered with a fair-use sentence, by reason "
                  "(rate_limited, busy).", ["reason"])

DELIVERY_OUTCOMES = {"sent": "sent", "failed": "failed", "gave_up": "failed", "already_sent": "skipped",
                     "busy": "skipped"}


def count_delivery(kind: str, result: str) -> None:
    """One ledger delivery's result ('sent', 'already_sent', 'busy', 'failed', 'gave_up') as sent/failed/skipped."""
    DELIVERIES.labels(kind=kind, outcome=DELIVERY_OUTCOMES.get(result, "skipped")).inc()


class StateCollector(Collector):
    """Gauges read when Prometheus scrapes: `state()` returns {name: (help, [(labels, value), …])}."""

    def __init__(self, state: Callable[[], dict[str, tuple[str, list[tuple[dict[str, str], float]]]]]):
        self._state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (help_text, samples) in self._state().items():
            labels = sorted({k for sample_labels, _ in samples for k in sample_labels})
            family = GaugeMetricFamily(name, help_text, labels=labels)
            for sample_labels, value in samples:
                family.add_metric([sample_labels.get(k, "") for k in labels], value)
            yield family


def exposition(extra: CollectorRegistry | None = None) -> tuple[bytes, str]:
    """The Prometheus text of this process's metrics (and `extra`'s), with its content type."""
    body = generate_latest(REGISTRY)
    if extra is not None:
        body += generate_latest(extra)
    return body, CONTENT_TYPE_LATEST


def seconds_since(moment: datetime | None, now: datetime | None = None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(((now or datetime.now(UTC)) - moment).total_seconds(), 0.0)
