"""The bot as production runs it (`python bot.py run`, HTTP mode on waitress) in its own process, talking to the
local fake Slack in this one: what the load and soak benchmarks drive. Signed requests go in over HTTP; answers
arrive at the fake's response_urls; `/metrics` and the process's RSS are read from outside."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select

from db.schema import reps
from errors import UserError
from tests.fakeslack import FakeSlack, post_block_action, post_slash_command

ROOT = Path(__file__).resolve().parent.parent
SECRET, TOKEN = "bench-signing-secret", "xoxb-bench"


@dataclass
class Sent:
    """One request and what became of it."""

    name: str  # the response_url its answer goes to
    kind: str  # "command" or "click"
    user: str
    text: str
    started: float  # time.time() when it was sent
    ack_status: int | None = None
    ack_ms: float | None = None
    reply_ms: float | None = None  # from sending to the answer's arrival at the response_url
    replies: int = 0


def slack_people(engine: Engine, count: int) -> list[tuple[str, str, str]]:
    """`count` active people with an email (reps first, then managers and execs), as (Slack id, email, name)."""
    with engine.connect() as conn:
        rows = conn.execute(select(reps.c.id, reps.c.email, reps.c.name, reps.c.role)
                            .where(reps.c.active.is_(True), reps.c.email.is_not(None))
                            .order_by((reps.c.role != "rep"), reps.c.id)).all()
    people = [(f"ULOAD{r.id}", r.email, r.name) for r in rows]
    # a few managers and execs among the askers, as on a Monday morning
    leaders = [p for p, r in zip(people, rows, strict=True) if r.role != "rep"][: max(count // 10, 1)]
    chosen = leaders + [p for p in people if p not in leaders][: count - len(leaders)]
    if len(chosen) < count:
        raise UserError(f"The demo org has {len(chosen)} active people with an email; the benchmark needs "
                         f"{count}. Build a larger org (--reps).")
    return chosen


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedBot:
    """`with ServedBot(database_url, people, log_path) as bot:` the bot process, ready, and the fake Slack."""

    def __init__(self, database_url: str, people: list[tuple[str, str, str]], log_path: Path,
                 env: dict[str, str] | None = None):
        self.database_url, self.people, self.log_path = database_url, people, log_path
        self.extra_env = env or {}  # settings for the bot process beyond the bench's own
        self.fake = FakeSlack()
        self.proc: subprocess.Popen | None = None
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.clock_offset = 0.0  # the bot's clock minus this one's, from its Date header: requests are signed on it

    def __enter__(self) -> ServedBot:
        self.fake.start()
        for user_id, email, name in self.people:
            self.fake.add_user(user_id, email, name, tz="America/New_York")
        env = {**os.environ, "DATABASE_URL": self.database_url, "SLACK_BOT_TOKEN": TOKEN,
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": self.fake.api_url, "PORT": str(self.port),
               "LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1", **self.extra_env}
        for name in ("SLACK_APP_TOKEN", "METRICS_PORT", "OPS_CHANNEL"):
            env.pop(name, None)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w") as log_file:
            self.proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "run"], env=env, cwd=ROOT,
                                         stdout=log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while not self._ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise UserError(f"The bot did not start: its log is {self.log_path}.")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self.fake.stop()

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as resp:
                if resp.headers.get("Date"):
                    self.clock_offset = parsedate_to_datetime(resp.headers["Date"]).timestamp() - time.time()
                return resp.status == 200
        except OSError:
            return False

    # ------------------------------------------------------------------ requests

    def _signed_now(self) -> int:
        """Slack signs with its clock and the bot refuses a signature five minutes off its own: sign on the bot's."""
        return round(time.time() + self.clock_offset)

    def command(self, sent: Sent) -> Sent:
        return self._timed(sent, lambda: post_slash_command(
            f"{self.base_url}/slack/events", SECRET, sent.text, sent.user,
            response_url=self.fake.response_url(sent.name), timeout=60, timestamp=self._signed_now()))

    def click(self, sent: Sent) -> Sent:
        """A "which one?" button whose value is the question to answer (handlers/actions/clarify.py)."""
        return self._timed(sent, lambda: post_block_action(
            f"{self.base_url}/slack/events", SECRET, sent.user, "sales_pick", value=sent.text,
            response_url=self.fake.response_url(sent.name), timeout=60, timestamp=self._signed_now()))

    @staticmethod
    def _timed(sent: Sent, post) -> Sent:
        sent.started = time.time()
        t0 = time.perf_counter()
        try:
            sent.ack_status = post().status
        except OSError:
            sent.ack_status = None
        sent.ack_ms = (time.perf_counter() - t0) * 1000
        return sent

    def wait_for_answers(self, sent: list[Sent], timeout: float) -> None:
        """Wait until every request the bot took (acked) has an answer, or the time is up; then note each one's
        arrival and count."""
        names = {s.name for s in sent if s.ack_status == 200}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            arrived = {c.name for c in self.fake.calls("response_url")} & names
            if arrived == names:
                break
            time.sleep(0.25)
        self.note_answers(sent)

    def note_answers(self, sent: list[Sent]) -> None:
        first: dict[str, float] = {}
        counts: dict[str, int] = {}
        for message in self.fake.messages(kind="response_url"):
            counts[message.url_name] = counts.get(message.url_name, 0) + 1
            first.setdefault(message.url_name, message.call.time)
        for s in sent:
            s.replies = counts.get(s.name, 0)
            s.reply_ms = (first[s.name] - s.started) * 1000 if s.name in first else None

    # ------------------------------------------------------------------ what the operator sees

    def metrics(self) -> dict[tuple[str, tuple], float]:
        """/metrics as {(sample name, sorted labels): value}."""
        with urllib.request.urlopen(f"{self.base_url}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    def outcomes(self) -> dict[str, float]:
        """Questions answered so far, by outcome (ok, refused, error, rate_limited, busy)."""
        out: dict[str, float] = {}
        for (name, labels), value in self.metrics().items():
            if name == "salesbot_requests_total":
                outcome = dict(labels)["outcome"]
                out[outcome] = out.get(outcome, 0) + value
        return out

    def pool_in_use(self) -> float:
        return self.metrics()[("salesbot_db_pool_in_use", ())]

    def traced_mb(self, what: str = "salesbot_python_traced_bytes") -> float | None:
        """What Python holds in the bot (tracemalloc), when it runs with PYTHONTRACEMALLOC; else None. (Or another
        memory gauge: salesbot_sqlite_memory_bytes, SQLite's heap.)"""
        value = self.metrics().get((what, ()))
        return None if value is None else value / 1_048_576

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS for the bot process")

    def error_ids(self) -> list[str]:
        """The error ids the bot logged (an answer that went wrong is logged with one)."""
        ids = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("error_id"):
                    ids.append(entry["error_id"])
        return ids

    def stop(self, grace: float = 60) -> int:
        """SIGTERM, as an orchestrator stops it: the answers under way finish. Returns the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(grace)
