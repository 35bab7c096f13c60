"""The time budget of one tool call: how long its API requests, retries and waits may take together.

MCP clients commonly give up on a tool call after 60 s. A tool call may make several
API requests: a commit reads the order, sends, and reads it back. They share one
budget, so the whole call ends in time with a clear error instead of being
abandoned by the client. Only time spent inside API calls counts, so a pause
while the user approves a write does not use up the budget.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["CallBudget", "call_budget", "current_call_budget"]


class CallBudget:
    """Seconds of API time granted to one tool call, and how many of them are spent."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._spent = 0.0
        self._depth = 0
        self._started = 0.0

    def remaining(self) -> float:
        """Return the seconds left, never below zero."""
        spent = self._spent
        if self._depth:
            spent += time.monotonic() - self._started
        return max(0.0, self.seconds - spent)

    @contextmanager
    def spending(self) -> Iterator[CallBudget]:
        """Count the time inside the block as spent. Nested and overlapping blocks count once, from the outermost."""
        if self._depth == 0:
            self._started = time.monotonic()
        self._depth += 1
        try:
            yield self
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._spent += time.monotonic() - self._started


_CURRENT: contextvars.ContextVar[CallBudget | None] = contextvars.ContextVar("signtraker_call_budget", default=None)


def current_call_budget() -> CallBudget | None:
    """Return the budget of the tool call being served, or None outside a tool call."""
    return _CURRENT.get()


@contextmanager
def call_budget(seconds: float) -> Iterator[CallBudget]:
    """Give the code inside the block, and the tasks it starts, one fresh budget of `seconds`."""
    budget = CallBudget(seconds)
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)
