"""The restart policy, walked with a fake random source and explicit uptimes."""

from __future__ import annotations

import pytest

from daemon.backoff import MIN_DELAY, MIN_STABLE_AFTER, RestartPolicy


def policy(rng: float = 1.0, max_retry: int = 10) -> RestartPolicy:
    return RestartPolicy(0.5, 8.0, stable_after=10.0, max_retry=max_retry, rng=lambda: rng)


def test_first_restart_is_immediate_then_exponential_up_to_the_cap() -> None:
    p = policy()
    delays = [p.on_exit(uptime=0.1).delay for _ in range(8)]
    assert delays == [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_jitter_stays_between_half_and_full_delay() -> None:
    low, high = policy(rng=0.0), policy(rng=0.999)
    for _ in range(5):
        d_low, d_high = low.on_exit(0.0).delay, high.on_exit(0.0).delay
        assert d_low <= d_high
        if d_high:
            assert d_high / 2 <= d_low < d_high
            assert d_high <= 8.0


def test_a_stable_run_resets_the_count_and_restarts_at_once() -> None:
    p = policy()
    for _ in range(4):
        p.on_exit(0.1)
    assert p.failures == 4
    decision = p.on_exit(uptime=10.0)
    assert decision.delay == 0.0 and not decision.failed and p.failures == 0
    assert p.on_exit(0.1).delay == 0.0  # the next quick death is a first one again


def test_gives_up_after_max_retry_quick_deaths() -> None:
    p = policy(max_retry=3)
    decisions = [p.on_exit(0.1) for _ in range(4)]
    assert [d.failed for d in decisions] == [False, False, False, True]
    assert decisions[-1].failures == 4


@pytest.mark.parametrize("count", [1, 50])
def test_max_retry_minus_one_never_gives_up(count: int) -> None:
    p = policy(max_retry=-1)
    assert not any(p.on_exit(0.0).failed for _ in range(count))


def test_stable_after_has_a_floor_of_one_second() -> None:
    # stable_after = 0 took every death for a healthy run's: no backoff, ever.
    p = RestartPolicy(0.5, 8.0, stable_after=0.0, max_retry=-1, rng=lambda: 1.0)
    assert [p.on_exit(uptime=0.01).delay for _ in range(3)] == [0.0, 0.5, 1.0]
    assert p.on_exit(uptime=MIN_STABLE_AFTER).delay == 0.0 and p.failures == 0


@pytest.mark.parametrize("rng", [0.0, 1.0])
def test_delays_have_a_floor_whatever_backoff_min_says(rng: float) -> None:
    p = RestartPolicy(0.0, 0.0, stable_after=10.0, max_retry=-1, rng=lambda: rng)
    assert [p.on_exit(uptime=0.0).delay for _ in range(4)] == [0.0] + [MIN_DELAY] * 3
