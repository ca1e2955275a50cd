"""Circuit breakers per deployment: open after repeated failures, half-open probes, shared via state."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

CLOSED, HALF_OPEN, OPEN = 0, 1, 2


@dataclass(slots=True)
class _Breaker:
    failures: int = 0
    opened_at: float = 0.0
    state: int = CLOSED
    probing: bool = False
    shared_open_until: float = 0.0


@dataclass(slots=True)
class CircuitBreakers:
    """In-process breakers; `merge_shared` folds in other replicas' open circuits (from Redis)."""

    failure_threshold: int = 5
    cooldown_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    on_change: Callable[[str, int], None] = lambda name, state: None
    _breakers: dict[str, _Breaker] = field(default_factory=dict)

    def _get(self, name: str) -> _Breaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = self._breakers[name] = _Breaker()
        return breaker

    def _set(self, name: str, breaker: _Breaker, state: int) -> None:
        if breaker.state != state:
            breaker.state = state
            self.on_change(name, state)

    def state(self, name: str) -> int:
        """CLOSED, HALF_OPEN or OPEN for a deployment (moving OPEN → HALF_OPEN after the cooldown)."""
        breaker = self._get(name)
        if breaker.state == OPEN and self.clock() - breaker.opened_at >= self.cooldown_s:
            self._set(name, breaker, HALF_OPEN)
            breaker.probing = False
        if breaker.state == CLOSED and breaker.shared_open_until > self.wall_clock():
            return OPEN
        return breaker.state

    def allows(self, name: str) -> bool:
        """Whether a request may be sent now (a half-open breaker lets one probe through)."""
        state = self.state(name)
        if state == CLOSED:
            return True
        if state == HALF_OPEN:
            breaker = self._get(name)
            if not breaker.probing:
                breaker.probing = True
                return True
        return False

    def success(self, name: str) -> None:
        """A request succeeded: close the breaker."""
        breaker = self._get(name)
        breaker.failures = 0
        breaker.probing = False
        breaker.shared_open_until = 0.0
        self._set(name, breaker, CLOSED)

    def release(self, name: str) -> None:
        """A request ended without a verdict on the deployment (cancelled, refused as invalid): free its probe."""
        self._get(name).probing = False

    def failure(self, name: str) -> bool:
        """A request failed; returns True when this failure opened the breaker."""
        breaker = self._get(name)
        breaker.failures += 1
        if breaker.state == HALF_OPEN or breaker.failures >= self.failure_threshold:
            opened = breaker.state != OPEN
            breaker.opened_at = self.clock()
            breaker.probing = False
            self._set(name, breaker, OPEN)
            return opened
        return False

    def open_until(self, name: str) -> float:
        """Wall-clock time until which `name` is open here (0 when closed), for sharing."""
        breaker = self._get(name)
        if breaker.state != OPEN:
            return 0.0
        return self.wall_clock() + max(self.cooldown_s - (self.clock() - breaker.opened_at), 0.0)

    def merge_shared(self, name: str, open_until: float) -> None:
        """Another replica opened `name` until `open_until` (wall clock): skip it here too."""
        breaker = self._get(name)
        breaker.shared_open_until = max(breaker.shared_open_until, open_until)
