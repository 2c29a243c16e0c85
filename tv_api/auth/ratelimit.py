"""Login throttling per client IP: at most N failed attempts in a sliding window, then HTTP 429.

An attempt is counted *before* its password is hashed (``acquire``) and forgotten only if it
succeeds, so N concurrent guesses cannot all pass the check while the first hashes are running.

In memory on purpose: one tv_api process per box, and a restart forgetting counts is harmless next
to the 0.5 s PBKDF2 cost of every guess. The table is bounded so a flood of source addresses cannot
grow it without limit.
"""

import time
from collections import OrderedDict, deque


class LoginRateLimiter:
    MAX_CLIENTS = 10_000

    def __init__(self, max_failures: int, window_seconds: float, clock=time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float]:
        now = self._clock()
        history = self._failures.get(client)
        if history is None:
            return deque()
        while history and now - history[0] >= self.window:
            history.popleft()
        if not history:
            del self._failures[client]
        return history

    def retry_after(self, client: str) -> int:
        """Seconds the client must wait, or 0 if it may try now."""
        history = self._recent(client)
        if len(history) < self.max_failures:
            return 0
        return max(1, int(history[0] + self.window - self._clock()) + 1)

    def acquire(self, client: str) -> int:
        """Count an attempt now and return 0 (go ahead), or return the seconds to wait.

        The attempt stays counted until it leaves the window, is released, or the client succeeds.
        """
        wait = self.retry_after(client)
        if not wait:
            self.record_failure(client)
        return wait

    def record_failure(self, client: str) -> None:
        history = self._failures.setdefault(client, deque())
        history.append(self._clock())
        self._failures.move_to_end(client)
        while len(self._failures) > self.MAX_CLIENTS:
            self._failures.popitem(last=False)

    def release(self, client: str) -> None:
        """Uncount one attempt that succeeded, without forgetting the client's failures."""
        history = self._failures.get(client)
        if history:
            history.pop()
            if not history:
                del self._failures[client]

    def record_success(self, client: str) -> None:
        self._failures.pop(client, None)
