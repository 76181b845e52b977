"""Sign-in lock-out rule: too many failures in a short window lock further attempts."""

from collections.abc import Sequence
from datetime import datetime, timedelta

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)
# Across every email from one address (password spraying); higher, as offices share addresses.
MAX_FAILURES_PER_ADDRESS = 50


def locked_until(
    failures: Sequence[datetime],
    *,
    max_failures: int = MAX_FAILURES,
    window: timedelta = WINDOW,
    lock: timedelta = LOCK,
) -> datetime | None:
    """When the lock ends, or None if `failures` (newest first) do not trigger one.

    A lock starts at the failure that completes `max_failures` within `window`, and lasts `lock`.
    """
    if len(failures) < max_failures:
        return None
    newest, oldest = failures[0], failures[max_failures - 1]
    if newest - oldest >= window:
        return None
    return newest + lock


def lookback(*, window: timedelta = WINDOW, lock: timedelta = LOCK) -> timedelta:
    """How far back failures can still matter to a lock."""
    return window + lock
