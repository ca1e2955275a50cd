"""Circuit breakers: open after repeated failures, half-open probe, close on success."""

from __future__ import annotations

from gateway.breakers import CLOSED, HALF_OPEN, OPEN, CircuitBreakers


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_open_half_open_close_cycle():
    clock = Clock()
    changes = []
    breakers = CircuitBreakers(3, 10.0, clock=clock, wall_clock=clock, on_change=lambda n, s: changes.append(s))
    assert breakers.allows("d")
    assert not breakers.failure("d") and not breakers.failure("d")
    assert breakers.failure("d")  # third failure opens it
    assert breakers.state("d") == OPEN and not breakers.allows("d")
    clock.now = 10.0
    assert breakers.state("d") == HALF_OPEN
    assert breakers.allows("d") and not breakers.allows("d")  # exactly one probe
    breakers.failure("d")  # the probe failed: open again
    assert breakers.state("d") == OPEN
    clock.now = 20.0
    assert breakers.allows("d")
    breakers.success("d")
    assert breakers.state("d") == CLOSED and breakers.allows("d")
    assert changes == [OPEN, HALF_OPEN, OPEN, HALF_OPEN, CLOSED]


def test_success_resets_the_failure_count():
    breakers = CircuitBreakers(2, 10.0)
    breakers.failure("d")
    breakers.success("d")
    breakers.failure("d")
    assert breakers.state("d") == CLOSED


def test_shared_open_state_from_another_replica():
    clock = Clock()
    breakers = CircuitBreakers(3, 10.0, clock=clock, wall_clock=clock)
    breakers.merge_shared("d", open_until=5.0)
    assert breakers.state("d") == OPEN and not breakers.allows("d")
    clock.now = 6.0
    assert breakers.allows("d")
    other = CircuitBreakers(1, 10.0, clock=clock, wall_clock=clock)
    other.failure("e")
    assert other.open_until("e") == 16.0
