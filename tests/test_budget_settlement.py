"""Budget reservations are settled in the store that took them, even when Redis drops in between.

Redis is reached through a TCP link the tests can cut and restore (a network partition: the
server and its data stay), so the RedisState meets real connection errors.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import redis.asyncio as aioredis

import gateway.budgets as budgets_module
from gateway.auth import Caller
from gateway.budgets import MICRO, BudgetExceeded, BudgetGuard, period_bounds
from gateway.ledger import BudgetRow
from gateway.state import RedisState
from tests.redis_support import redis_server_url

CALLER = Caller("key_1", "team_1")
DB = 12


class RedisLink:
    """A loopback TCP proxy to the test Redis that can be cut (connections dropped, new ones refused)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.reply_delay = 0.0  # seconds each reply from Redis is held (commands still reach it at once)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, replies: bool) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                if replies and self.reply_delay:
                    await asyncio.sleep(self.reply_delay)
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(self._pipe(reader, upstream_writer, False), self._pipe(upstream_reader, writer, True))

    async def restore(self) -> str:
        """Listen (again, on the same port); the URL to give the gateway."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{self.port}/{DB}"

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()


@pytest.fixture
async def direct() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(f"{redis_server_url()}/{DB}", decode_responses=True)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def link(direct: aioredis.Redis) -> AsyncIterator[RedisLink]:
    host, port = redis_server_url().removeprefix("redis://").split(":")
    proxy = RedisLink((host, int(port)))
    await proxy.restore()
    yield proxy
    await proxy.cut()


class Budgets:
    """The key cache's budget view, without a database."""

    def __init__(self, *rows: BudgetRow) -> None:
        self.rows = rows

    def budgets(self, scope: str, scope_id: str | None) -> tuple[BudgetRow, ...]:
        return tuple(row for row in self.rows if (row.scope, row.scope_id) == (scope, scope_id))

    def all_budgets(self) -> list[BudgetRow]:
        return list(self.rows)


def key_budget(limit_usd: str) -> BudgetRow:
    return BudgetRow("key", CALLER.key_id, "day", Decimal(limit_usd), None, datetime.now(UTC))


def counter_key() -> str:
    start, _ = period_bounds("day", datetime.now(UTC))
    return f"gw:spend:key:{CALLER.key_id}:day:{start:%Y%m%d}"


async def guard_over(link: RedisLink, limit_usd: str = "1") -> tuple[BudgetGuard, RedisState]:
    state = RedisState(f"redis://127.0.0.1:{link.port}/{DB}")
    return BudgetGuard(state, Budgets(key_budget(limit_usd))), state  # type: ignore[arg-type]


async def micro(get) -> float | None:
    value = await get(counter_key())
    return None if value is None else float(value)


async def _equals(direct: aioredis.Redis, value: float) -> bool:
    return await micro(direct.get) == value


async def eventually(check, timeout: float = 3.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def test_a_redis_reservation_settled_while_redis_is_down_is_applied_to_redis_when_it_returns(link, direct):
    guard, state = await guard_over(link)
    reservation = await guard.reserve(CALLER, Decimal("0.01"))
    assert [c.store for c in reservation.counters] == ["redis"]
    assert await micro(direct.get) == 10_001
    await link.cut()
    await guard.adjust(reservation, Decimal("0.004"))
    local = await micro(state._local.get)
    assert local is None or local >= 0, "the settlement went to the local counter"
    assert await micro(direct.get) == 10_001  # owed, not lost
    await link.restore()
    assert await state.get("anything") is None  # Redis is seen again: what is owed is applied
    assert await eventually(lambda: _equals(direct, 4_000))
    await state.close()


async def test_an_addition_whose_reply_timed_out_is_not_applied_twice(link, direct):
    guard, state = await guard_over(link)
    reservation = await guard.reserve(CALLER, Decimal("0.0001"))
    assert await micro(direct.get) == 101
    link.reply_delay = 1.0  # Redis applies the settlement, its reply outlasts the client's 0.5 s timeout
    await guard.adjust(reservation, Decimal("0.0003"))  # +199
    link.reply_delay = 0.0
    await asyncio.sleep(1.0)
    assert await state.get("anything") is None  # Redis is seen again
    await asyncio.sleep(0.2)
    assert await micro(direct.get) == 300  # not 499: the addition was not owed and applied again
    await state.close()


async def test_a_reservation_whose_reply_timed_out_is_given_back_to_redis(link, direct):
    guard, state = await guard_over(link)
    assert await state.get("warm-up") is None  # connected before the replies slow down
    link.reply_delay = 1.0  # Redis takes the reservation; its reply outlasts the client's 0.5 s timeout
    reservation = await guard.reserve(CALLER, Decimal("0.0001"))
    assert [c.store for c in reservation.counters] == ["local"]
    link.reply_delay = 0.0
    await asyncio.sleep(1.0)
    assert await micro(direct.get) == 101  # applied in Redis although the gateway went on locally
    assert await state.get("anything") is None  # Redis is seen again: the reservation is given back
    assert await eventually(lambda: _equals(direct, 0))
    await guard.adjust(reservation, Decimal("0.0003"))
    assert await micro(state._local.get) == 300 and await micro(direct.get) == 0
    await state.close()


async def test_a_local_reservation_is_settled_locally_after_redis_returns(link, direct):
    guard, state = await guard_over(link)
    await link.cut()
    reservation = await guard.reserve(CALLER, Decimal("0.01"))
    assert [c.store for c in reservation.counters] == ["local"]
    await link.restore()
    await guard.adjust(reservation, Decimal("0.004"))
    assert await micro(state._local.get) == 4_000
    assert await micro(direct.get) is None, "the settlement of a local reservation reached Redis"
    await state.close()


async def test_limits_apply_on_local_counters_from_the_reconciled_spend_while_redis_is_down(link, direct,
                                                                                          monkeypatch):
    async def ledger_spend(engine, wanted):
        return [Decimal("0.9") for _ in wanted]

    monkeypatch.setattr(budgets_module, "spends_since", ledger_spend)
    guard, state = await guard_over(link, limit_usd="1")
    await guard.reconcile(engine=None)  # type: ignore[arg-type]
    assert await micro(direct.get) == 0.9 * MICRO
    await link.cut()
    kept = await guard.reserve(CALLER, Decimal("0.05"))
    assert [c.store for c in kept.counters] == ["local"]
    with pytest.raises(BudgetExceeded, match="budget of \\$1 for key key_1"):
        await guard.reserve(CALLER, Decimal("0.06"))
    assert await micro(state._local.get) == 0.9 * MICRO + 50_001  # the refused one was given back
    await guard.adjust(kept, Decimal("0.05"))
    await link.restore()
    assert await micro(direct.get) == 0.9 * MICRO  # the outage's spend reaches Redis through the ledger
    await state.close()


async def test_a_reservation_its_request_never_settles_is_released_when_the_request_ends(link, direct):
    guard, state = await guard_over(link)

    async def failing_request() -> None:
        await guard.reserve(CALLER, Decimal("0.01"))
        raise RuntimeError("a bug after the reservation")

    async def settled_request() -> None:
        reservation = await guard.reserve(CALLER, Decimal("0.01"))
        guard.settle_later(reservation, Decimal("0.002"))

    with pytest.raises(RuntimeError):
        await asyncio.create_task(failing_request())
    assert await eventually(lambda: _equals(direct, 0))
    await asyncio.create_task(settled_request())
    await guard.stop()
    assert await micro(direct.get) == 2_000  # settled once, not also released
    await state.close()


async def test_a_settlement_after_the_release_bills_the_actual_cost(link, direct):
    guard, state = await guard_over(link)
    kept = []

    async def request() -> None:
        kept.append(await guard.reserve(CALLER, Decimal("0.01")))

    await asyncio.create_task(request())  # ends unsettled: released
    assert await eventually(lambda: _equals(direct, 0))
    await guard.adjust(kept[0], Decimal("0.003"))  # a stream closed after its task, settling late
    assert await micro(direct.get) == 3_000
    await state.close()
