"""The sign-in lock-out rule, without a database."""

from datetime import UTC, datetime, timedelta

import pytest

from jvap.accounts import lockout

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def _times(*minutes: float) -> list[datetime]:
    return sorted((T0 + timedelta(minutes=m) for m in minutes), reverse=True)


@pytest.mark.parametrize(
    ("failures", "until"),
    [
        ((), None),
        ((0, 1, 2, 3), None),
        ((0, 1, 2, 3, 4), T0 + timedelta(minutes=19)),
        ((0, 0, 0, 0, 0), T0 + timedelta(minutes=15)),
        ((0, 4, 8, 12, 14.9), T0 + timedelta(minutes=29.9)),
        ((0, 4, 8, 12, 15), None),
        ((0, 10, 20, 30, 40), None),
        ((-30, 0, 1, 2, 3, 4), T0 + timedelta(minutes=19)),
    ],
)
def test_five_failures_within_fifteen_minutes_lock_for_fifteen(
    failures: tuple[float, ...], until: datetime | None
) -> None:
    assert lockout.locked_until(_times(*failures)) == until


def test_after_a_lock_ends_five_more_failures_are_needed() -> None:
    first_lock = _times(0, 0, 0, 0, 0)
    assert lockout.locked_until(first_lock) == T0 + timedelta(minutes=15)
    after = _times(0, 0, 0, 0, 0, 15)
    assert lockout.locked_until(after) is None
    assert lockout.locked_until(_times(0, 0, 15, 15, 15, 15, 15)) == T0 + timedelta(minutes=30)


def test_thresholds_are_parameters() -> None:
    failures = _times(*range(10))
    assert lockout.locked_until(failures, max_failures=50) is None
    assert lockout.locked_until(failures, max_failures=10) == T0 + timedelta(minutes=24)
