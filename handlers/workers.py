"""The threads that run bolt's listeners after each ack: bounded, and able to say when they are all done (the
graceful stop waits for them, so a question asked just before SIGTERM is still answered)."""

from __future__ import annotations

import contextvars
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor


class Pending:
    """A count of things under way that can be waited on until it is zero (requests served, answers running)."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def add(self) -> None:
        with self._idle:
            self._count += 1

    def done(self, *_ignored: object) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def __enter__(self) -> Pending:
        self.add()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done()

    @property
    def count(self) -> int:
        return self._count

    def wait_idle(self, deadline: float) -> bool:
        """True once nothing is under way; False if the monotonic `deadline` passes first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout=max(deadline - time.monotonic(), 0))


class DrainableExecutor(ThreadPoolExecutor):
    """A ThreadPoolExecutor that counts the work submitted and not yet finished."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "listener"):
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._pending = Pending()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        self._pending.add()
        try:
            # each listener in a fresh context: the language one answer speaks (i18n.set_locale) ends with it
            future = super().submit(contextvars.Context().run, fn, *args, **kwargs)
        except BaseException:
            self._pending.done()
            raise
        future.add_done_callback(self._pending.done)
        return future

    @property
    def pending(self) -> int:
        return self._pending.count

    def wait_idle(self, deadline: float) -> bool:
        return self._pending.wait_idle(deadline)
