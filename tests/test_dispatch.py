"""Dispatcher with scripted providers: breaker probes, the request deadline, repair fall-through."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from gateway.breakers import HALF_OPEN, OPEN, CircuitBreakers
from gateway.catalogue import load_catalogue
from gateway.dispatch import Dispatcher, DispatchLog, RetrySettings
from gateway.errors import InvalidRequest, PayloadTooLarge, UpstreamError, UpstreamTimeout
from gateway.plan import Attempt, RoutePlan
from gateway.providers.base import Completion
from gateway.usage import Usage

CATALOGUE = load_catalogue(Path(__file__).resolve().parents[1] / "policies")
V4 = CATALOGUE.models["deepseek-v4-pro"]
GPT = CATALOGUE.models["gpt-5.5"]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
BODY = {"model": "deepseek-v4-pro", "messages": [{"role": "user", "content": "weather?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": SCHEMA}}],
        "stream": True, "stream_options": {"include_usage": True}}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def answer(arguments: str) -> Completion:
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
    body = {"choices": [{"index": 0, "finish_reason": "tool_calls",
                         "message": {"role": "assistant", "content": None, "tool_calls": [call]}}]}
    return Completion(body, Usage(input=10, output=5))


class Scripted:
    """A provider answering each deployment from its own script (the last outcome repeats)."""

    def __init__(self, **scripts: list) -> None:
        self.scripts = scripts
        self.calls: list[tuple[str, dict]] = []

    async def complete(self, deployment, body, caller=""):
        self.calls.append((deployment.name, body))
        script = self.scripts[deployment.name]
        outcome = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome == "hang":
            await asyncio.sleep(30)
        return outcome


def plan(model=V4, count=1) -> RoutePlan:
    return RoutePlan(model, tuple(Attempt(d) for d in model.deployments[:count]), tool_retries=2)


@pytest.mark.parametrize("outcome", [InvalidRequest("bad"), PayloadTooLarge("big"), asyncio.CancelledError(),
                                     RuntimeError("bug")])
async def test_a_half_open_probe_that_ends_without_a_verdict_is_released(outcome):
    clock = Clock()
    breakers = CircuitBreakers(1, 10.0, clock=clock, wall_clock=clock)
    name = V4.deployments[0].name
    breakers.failure(name)
    clock.now = 10.0
    assert breakers.state(name) == HALF_OPEN
    dispatcher = Dispatcher({"openai_compat": Scripted(**{name: [outcome]})}, breakers, RetrySettings(retries=0))
    with pytest.raises(type(outcome)):
        await dispatcher.complete(plan(), BODY, DispatchLog())
    assert breakers.state(name) == HALF_OPEN and breakers.allows(name)  # the next request may probe


async def test_the_total_timeout_bounds_every_retry_and_fallback():
    names = [d.name for d in V4.deployments[:3]]
    provider = Scripted(**{name: ["hang"] for name in names})
    dispatcher = Dispatcher({"openai_compat": provider}, CircuitBreakers(), RetrySettings(retries=2,
                            base_delay_s=0.01, total_timeout_s=0.3))
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="GATEWAY_TOTAL_TIMEOUT_S"):
        await dispatcher.complete(plan(count=3), BODY, DispatchLog())
    assert time.monotonic() - started < 0.5
    assert len(provider.calls) == 1  # the hanging attempt used the whole budget: nothing after it


async def test_a_retry_waits_only_if_the_budget_allows_it():
    first, second = (d.name for d in V4.deployments[:2])
    provider = Scripted(**{first: [UpstreamError("boom")], second: [answer('{"city": "Oslo"}')]})
    dispatcher = Dispatcher({"openai_compat": provider}, CircuitBreakers(), RetrySettings(
        retries=2, base_delay_s=1.0, max_delay_s=1.0, total_timeout_s=0.5))
    started = time.monotonic()
    _, deployment = await dispatcher.complete(plan(count=2), BODY, DispatchLog())
    assert deployment.name == second and time.monotonic() - started < 0.3  # no 1 s backoff past the budget


@pytest.mark.parametrize("failure", ["error", "open circuit"])
async def test_a_failing_same_model_repair_falls_through_to_escalation(failure):
    v4, gpt = V4.deployments[0].name, GPT.deployments[0].name
    provider = Scripted(**{v4: [UpstreamError("boom")], gpt: [answer('{"city": "Oslo"}')]})
    breakers = CircuitBreakers(1, 30.0)
    if failure == "open circuit":
        breakers.failure(v4)
        assert breakers.state(v4) == OPEN
    dispatcher = Dispatcher({"openai_compat": provider}, breakers, RetrySettings(retries=0))
    dispatch_log = DispatchLog()
    completion, deployment = await dispatcher.repair(BODY, answer('{"town": 1}').body["choices"][0]["message"],
                                                     ["'city' is a required property"], V4.deployments[0], plan(),
                                                     plan(GPT), dispatch_log)
    assert deployment.name == gpt
    assert completion.body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"city": "Oslo"}'
    assert provider.calls[-1][0] == gpt


async def test_a_failing_repair_without_escalation_raises_its_error():
    v4 = V4.deployments[0].name
    dispatcher = Dispatcher({"openai_compat": Scripted(**{v4: [UpstreamError("boom")]})}, CircuitBreakers(),
                            RetrySettings(retries=0))
    with pytest.raises(UpstreamError, match="boom"):
        await dispatcher.repair(BODY, {"role": "assistant", "content": None}, ["no call"], V4.deployments[0],
                                plan(), None, DispatchLog())


async def test_repair_and_escalation_requests_are_not_streaming():
    v4, gpt = V4.deployments[0].name, GPT.deployments[0].name
    provider = Scripted(**{v4: [answer("{not json")], gpt: [answer('{"city": "Oslo"}')]})
    dispatcher = Dispatcher({"openai_compat": provider}, CircuitBreakers(), RetrySettings(retries=0))
    await dispatcher.repair(BODY, {"role": "assistant", "content": None}, ["no call"], V4.deployments[0], plan(),
                            plan(GPT), DispatchLog())
    assert [name for name, _ in provider.calls] == [v4, v4, gpt]
    for _, body in provider.calls:
        # OpenAI answers 400 to stream_options on a request that does not stream.
        assert body["stream"] is False and "stream_options" not in body


async def test_a_call_that_timed_out_after_its_prompt_was_sent_is_charged_one_that_never_connected_is_not():
    import aiohttp

    from gateway.errors import ConnectTimeout
    from gateway.providers.http import connection_error

    first, second, third = (d.name for d in V4.deployments[:3])
    assert isinstance(connection_error(aiohttp.ConnectionTimeoutError(), V4.deployments[0]), ConnectTimeout)
    provider = Scripted(**{first: [UpstreamTimeout("read timeout")], second: [ConnectTimeout("no connection")],
                           third: [UpstreamError("boom")]})
    dispatch_log = DispatchLog()
    with pytest.raises(UpstreamError):
        await Dispatcher({"openai_compat": provider}, CircuitBreakers(), RetrySettings(retries=0)).complete(
            plan(count=3), BODY, dispatch_log)
    assert [charge.deployment.name for charge in dispatch_log.charges] == [first]  # the read timeout only
    assert dispatch_log.charges[0].usage.input > 0 and dispatch_log.in_flight is None
