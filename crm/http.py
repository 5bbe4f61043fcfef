"""HTTP for connectors: `requests` with bounded retries for 429, 5xx, Salesforce's REQUEST_LIMIT_EXCEEDED and
time-outs, honouring Retry-After (HubSpot's ten-second window says so too)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

import requests

log = logging.getLogger(__name__)


class CrmUnavailable(Exception):
    """The CRM did not answer usefully after every retry; the message is a sentence for the person."""


class CrmHttp:
    """`wait_hint`, when a connector sets it, says how long to wait before retrying an answer that has no
    Retry-After (HubSpot's 429s name their rate-limit window in the body instead)."""

    def __init__(self, timeout: float = 30.0, retries: int = 6, backoff: float = 0.5, max_wait: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.session = requests.Session()
        self.timeout, self.retries, self.backoff, self.max_wait, self.sleep = timeout, retries, backoff, max_wait, sleep
        self.retried = 0
        self.wait_hint: Callable[[requests.Response], float | None] | None = None

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                resp = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as exc:
                if last:
                    raise CrmUnavailable(f"the CRM did not answer ({type(exc).__name__} on {_where(url)}).") from None
                self._wait(attempt, None, f"{type(exc).__name__}")
                continue
            if not _retryable(resp):
                return resp
            if last:
                raise CrmUnavailable(f"the CRM kept refusing ({resp.status_code} on {_where(url)}) after "
                                     f"{self.retries} retries.")
            hint = self.wait_hint(resp) if self.wait_hint else None
            self._wait(attempt, resp.headers.get("Retry-After") or (None if hint is None else str(hint)),
                       str(resp.status_code))
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, retry_after: str | None, why: str) -> None:
        wait = self.backoff * (2 ** attempt)
        if retry_after:
            with contextlib.suppress(ValueError):
                wait = float(retry_after)
        wait = min(wait, self.max_wait)
        self.retried += 1
        log.info("CRM call failed (%s); retrying in %.1f s", why, wait)
        self.sleep(wait)


def _retryable(resp: requests.Response) -> bool:
    if resp.status_code == 429 or resp.status_code >= 500:
        return True
    return resp.status_code == 403 and "REQUEST_LIMIT_EXCEEDED" in resp.text


def _where(url: str) -> str:
    return url.split("?", 1)[0]
