"""The delivery ledger: each (kind, recipient, period) is sent at most once, across retries, restarts and replicas.

Protocol for one delivery:
1. *claim*: insert the ledger row with status `sending` (the unique key makes a second claimant fail), in its own
   transaction; a row already `sent` means there is nothing to do.
2. *send* the message, tagged with Slack message metadata naming the ledger key.
3. *record*: in one transaction, mark the row `sent` with the channel and ts (and whatever the caller records
   with it, e.g. alert rows pointing at the message).

From 1 until 3 is recorded, a heartbeat keeps the claim fresh: a send can outlast STALE_AFTER when Slack
rate-limits it (the WebClient sleeps Retry-After between attempts), and without the heartbeat another replica would
take the claim over as abandoned, find nothing in Slack yet, and send it too. A replica that dies stops the heartbeat.

Each claim has an attempt number (the row's `attempts` when it was claimed). A replica that stalled (a paused VM,
a heartbeat that could not reach the database) may have lost its claim to another replica meanwhile: right before
the Slack call the sender confirms the claim (`Claim.confirm_claim()`, which also renews it), and a claim no longer
its own raises ClaimLost, so it sends nothing and leaves the row to the replica that holds it. The heartbeat and
`record_failed` touch only their own attempt, never another replica's claim.

A replica that dies between 1 and 3 leaves a `sending` row. After `STALE_AFTER`, another run may take it over:
it first asks Slack whether a message carrying that key's metadata already exists in the channel
(`conversations.history`), and records it instead of sending again. So a crash after Slack accepted the message
but before step 3 does not produce a duplicate.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from db.schema import bot_delivery_ledger as ledger
from ops import telemetry

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 5
METADATA_EVENT = "salesbot_delivery"


@dataclass(frozen=True)
class Delivery:
    kind: str  # digest | exec_digest | nudge | integrity | ...
    recipient: str  # a rep id, Slack user id or channel: whatever identifies the audience
    period: str  # the local date (or week) the delivery is for

    @property
    def metadata(self) -> dict:
        """Slack message metadata that marks a message as this delivery (for crash recovery)."""
        return {"event_type": METADATA_EVENT,
                "event_payload": {"kind": self.kind, "recipient": self.recipient, "period": self.period}}

    def confirm_claim(self) -> None:
        """Nothing to confirm for a bare key (a send outside the ledger); a Claim checks it is still held."""


class ClaimLost(RuntimeError):
    """The claim went stale and another replica took the delivery over: this one must not send it."""


@dataclass(frozen=True)
class Claim(Delivery):
    """A delivery as claimed by this replica: the key plus the attempt it claimed (handed to `send`)."""

    attempt: int
    ledger: DeliveryLedger = field(compare=False, repr=False)

    @property
    def key(self) -> Delivery:
        return Delivery(self.kind, self.recipient, self.period)

    def confirm_claim(self) -> None:
        """Right before the Slack call: renew the claim if it is still this attempt's, else raise ClaimLost."""
        if not self.ledger.renew(self):
            raise ClaimLost(f"{self.key} was taken over by another run")


@dataclass(frozen=True)
class SentRef:
    channel: str
    ts: str


class DeliveryLedger:
    def __init__(self, engine: Engine, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.engine = engine
        self.now = now

    def _where(self, key: Delivery):
        return and_(ledger.c.kind == key.kind, ledger.c.recipient == key.recipient, ledger.c.period == key.period)

    def row(self, key: Delivery):
        with self.engine.connect() as conn:
            return conn.execute(select(ledger).where(self._where(key))).first()

    def status(self, key: Delivery) -> str | None:
        row = self.row(key)
        return row.status if row else None

    def sent_ref(self, key: Delivery) -> SentRef | None:
        row = self.row(key)
        if row is None or row.status != "sent" or not row.message_ts:
            return None
        return SentRef(row.channel, row.message_ts)

    def claim(self, key: Delivery) -> str:
        """'claimed' (you send it), 'sent' (done already), 'busy' (someone else is sending it right now),
        'stale' (a claim was abandoned: check Slack before sending), or 'gave_up' (failed too often)."""
        return self._claim(key)[0]

    def _claim(self, key: Delivery) -> tuple[str, int]:
        """The claim's state (as `claim`) and, when it is this replica's, its attempt number."""
        now = self.now()
        with self.engine.begin() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(insert(ledger).values(kind=key.kind, recipient=key.recipient, period=key.period,
                                                       status="sending", attempts=1, created_at=now))
                return "claimed", 1
            except IntegrityError:
                pass
            row = conn.execute(select(ledger).where(self._where(key))).first()
            if row.status == "sent":
                return "sent", 0
            if row.attempts >= MAX_ATTEMPTS and row.status == "failed":
                return "gave_up", 0
            if row.status == "sending" and now - row.created_at < STALE_AFTER:
                return "busy", 0
            # failed earlier, or an abandoned claim: take it over atomically (only one taker wins)
            taken = conn.execute(
                update(ledger)
                .where(self._where(key), ledger.c.status == row.status, ledger.c.attempts == row.attempts)
                .values(status="sending", attempts=row.attempts + 1, created_at=now, error=None)
            ).rowcount
            if not taken:
                return "busy", 0
            return ("stale" if row.status == "sending" else "claimed"), row.attempts + 1

    def _held(self, claim: Claim):
        return and_(self._where(claim), ledger.c.status == "sending", ledger.c.attempts == claim.attempt)

    def renew(self, claim: Claim) -> bool:
        """Touch the claim if it is still `claim`'s attempt (True), else leave the row alone (False)."""
        with self.engine.begin() as conn:
            return conn.execute(update(ledger).where(self._held(claim)).values(created_at=self.now())).rowcount == 1

    def record_sent(self, key: Delivery, ref: SentRef, also: Callable[[Connection], None] | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(ledger).where(self._where(key))
                         .values(status="sent", channel=ref.channel, message_ts=ref.ts, sent_at=self.now()))
            if also is not None:
                also(conn)

    def record_failed(self, key: Delivery, error: str) -> None:
        """Mark the delivery failed; for a Claim only while the claim is still its own (another replica's claim
        of the same key is left as it is)."""
        where = self._held(key) if isinstance(key, Claim) else self._where(key)
        with self.engine.begin() as conn:
            conn.execute(update(ledger).where(where).values(status="failed", error=error[:2000]))

    def deliver(
        self,
        key: Delivery,
        send: Callable[[Delivery], SentRef],
        *,
        find_existing: Callable[[Delivery], SentRef | None] | None = None,
        also: Callable[[Connection, SentRef], None] | None = None,
    ) -> str:
        """Send once. Returns 'sent', 'already_sent', 'busy', 'failed' or 'gave_up'.

        `send` posts the message (tagged with `key.metadata`) and returns where it went. `find_existing` looks in
        Slack for a message carrying the key's metadata, for taking over an abandoned claim. `also` runs in the
        transaction that records the send. Counted in salesbot_deliveries (sent, failed, skipped) by kind.
        """
        result = self._deliver(key, send, find_existing, also)
        telemetry.count_delivery(key.kind, result)
        return result

    def _deliver(self, key: Delivery, send, find_existing, also) -> str:
        state, attempt = self._claim(key)
        if state == "sent":
            return "already_sent"
        if state in ("busy", "gave_up"):
            return state
        claim = Claim(key.kind, key.recipient, key.period, attempt, self)
        with self._heartbeat(claim):
            if state == "stale" and find_existing is not None:
                existing = find_existing(key)
                if existing is not None:
                    self.record_sent(key, existing, (lambda c: also(c, existing)) if also else None)
                    return "already_sent"
            try:
                ref = send(claim)
            except ClaimLost:
                log.warning("delivery %s not sent: another run took its claim over", key)
                return "busy"
            except Exception as exc:  # noqa: BLE001 - any failure is recorded; the next run retries
                log.warning("delivery %s failed: %s", key, exc)
                self.record_failed(claim, f"{type(exc).__name__}: {exc}")
                return "failed"
            self.record_sent(key, ref, (lambda c: also(c, ref)) if also else None)
            return "sent"

    @contextmanager
    def _heartbeat(self, claim: Claim) -> Iterator[None]:
        """Touch the claim every STALE_AFTER / 4 until the block ends (the send recorded), so it never looks
        abandoned; only this attempt's claim is touched."""
        stop = threading.Event()
        interval = max(STALE_AFTER.total_seconds() / 4, 0.05)

        def beat() -> None:
            while not stop.wait(interval):
                try:
                    self.renew(claim)
                except Exception as exc:  # noqa: BLE001 - a missed beat is retried; the send goes on
                    log.warning("ledger heartbeat for %s failed: %s", claim.key, exc)

        thread = threading.Thread(target=beat, name="ledger-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def failures(self, since: datetime) -> list:
        """Deliveries that failed (or were abandoned) since `since`, for the ops report."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(ledger).where(ledger.c.created_at >= since,
                                     or_(ledger.c.status == "failed",
                                         and_(ledger.c.status == "sending",
                                              ledger.c.created_at < self.now() - STALE_AFTER)))
                .order_by(ledger.c.created_at)
            ).all()
