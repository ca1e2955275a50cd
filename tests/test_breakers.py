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


def test_release_frees_a_half_open_probe_without_a_verdict():
    clock = Clock()
    breakers = CircuitBreakers(1, 10.0, clock=clock, wall_clock=clock)
    breakers.failure("d")
    clock.now = 10.0
    assert breakers.allows("d") and not breakers.allows("d")
    breakers.release("d")  # the probe was cancelled: neither a success nor a failure
    assert breakers.state("d") == HALF_OPEN and breakers.allows("d")


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


async def test_open_circuits_are_shared_across_replicas_through_redis():
    import redis.asyncio as aioredis

    from gateway.breaker_sync import BreakerSync
    from gateway.catalogue import load_catalogue
    from gateway.state import RedisState
    from tests.redis_support import redis_server_url

    url = f"{redis_server_url()}/11"
    await aioredis.Redis.from_url(url).flushdb()
    catalogue = load_catalogue(__import__("pathlib").Path(__file__).resolve().parents[1] / "policies")
    replica_a, replica_b = CircuitBreakers(1, 30.0), CircuitBreakers(1, 30.0)
    state_a, state_b = RedisState(url), RedisState(url)
    sync_a = BreakerSync(replica_a, state_a, lambda: catalogue)
    sync_b = BreakerSync(replica_b, state_b, lambda: catalogue)
    replica_a.failure("gpt-5.5@openai")
    await sync_a.sync_once()
    await sync_b.sync_once()
    assert replica_b.state("gpt-5.5@openai") == OPEN and not replica_b.allows("gpt-5.5@openai")
    assert replica_b.state("claude-opus-4.7@anthropic") == CLOSED
    await state_a.close()
    await state_b.close()
