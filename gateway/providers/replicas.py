"""Prefix-affinity replica choice with failover: rendezvous order, stepping past replicas that just failed."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from gateway.errors import GatewayError, is_upstream_failure

# Long enough to cover a request's retries (backoff is capped at GATEWAY_RETRY_MAX_S, 2 s by default),
# short enough that a replica back from a restart soon gets its prefixes (and their warm cache) back.
FAILOVER_HOLD_S = 10.0


def _score(key: bytes, replica: str) -> bytes:
    return hashlib.blake2b(key + replica.encode(), digest_size=8).digest()


def home_replica(replicas: tuple[str, ...], key: bytes) -> str:
    """The replica that owns `key` under rendezvous hashing."""
    return max(replicas, key=lambda replica: _score(key, replica))


def rendezvous_order(replicas: tuple[str, ...], key: bytes) -> list[str]:
    """Every replica by descending score for `key`: its home first, then where it goes if that one is gone."""
    return sorted(replicas, key=lambda replica: _score(key, replica), reverse=True)


def is_replica_failure(exc: GatewayError) -> bool:
    """Connection errors, timeouts and 5xx say the replica is unwell; 4xx and 429 say nothing about it."""
    return is_upstream_failure(exc)


class ReplicaFailover:
    """Picks a replica per prompt prefix; after a replica fails, its prefixes move to their next replica
    in rendezvous order for `hold_s`, so the request's retry (and its neighbours) avoid the dead one."""

    def __init__(self, hold_s: float = FAILOVER_HOLD_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._hold_s = hold_s
        self._clock = clock
        self._failed_at: dict[str, float] = {}
        self._clear_at = 0.0  # when the latest note expires

    def choose(self, replicas: tuple[str, ...], key: bytes) -> str:
        """The first replica in `key`'s rendezvous order that has not just failed."""
        if not self._failed_at:  # the usual case costs what plain rendezvous hashing does
            return home_replica(replicas, key)
        now = self._clock()
        if now >= self._clear_at:  # every note has expired: back to the fast path
            self._failed_at.clear()
            return home_replica(replicas, key)
        order = rendezvous_order(replicas, key)
        for replica in order:
            failed = self._failed_at.get(replica)
            if failed is None or now - failed >= self._hold_s:
                return replica
        # All just failed: the one that failed longest ago is the likeliest to be back.
        return min(order, key=lambda replica: self._failed_at[replica])

    def failed(self, replica: str) -> None:
        """Note that `replica` just failed."""
        now = self._clock()
        self._failed_at[replica] = now
        self._clear_at = now + self._hold_s
