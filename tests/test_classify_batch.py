"""The classification batcher: requests of one loop turn are classified together, each gets its own answer."""

from __future__ import annotations

import asyncio

import pytest

from gateway import classify_batch
from gateway.classify import classify
from gateway.classify_batch import ClassifyBatcher

PROMPTS = ["Summarise this thread for the next agent on shift.", "Fix the failing test in utils.py: assert 1 == 2",
           "Translate into German: good morning", "What is 17 times 23?"]


def body(text: str) -> dict:
    return {"model": "auto", "messages": [{"role": "user", "content": text}]}


def test_requests_of_one_turn_share_a_batch_and_get_their_own_answers():
    batcher = ClassifyBatcher()

    async def main():
        first = await asyncio.gather(*(batcher.classify(body(p)) for p in PROMPTS))
        alone = await batcher.classify(body(PROMPTS[0]))
        return first, alone

    first, alone = asyncio.run(main())
    assert first == [classify(body(p)) for p in PROMPTS]
    assert alone == first[0]
    assert (batcher.batches, batcher.classified) == (2, 5)  # four together, then one on its own


def test_a_cancelled_waiter_or_a_failing_request_spoils_nothing_else(monkeypatch):
    batcher = ClassifyBatcher()

    def classify_or_fail(request):
        if "boom" in request["messages"][0]["content"]:
            raise RuntimeError("a bug")
        return classify(request)

    monkeypatch.setattr(classify_batch, "classify", classify_or_fail)

    async def main():
        cancelled = batcher.classify(body(PROMPTS[0]))
        failing = batcher.classify(body("boom"))
        fine = batcher.classify(body(PROMPTS[1]))
        cancelled.cancel()
        await asyncio.sleep(0)  # the batch runs at the end of this turn
        return cancelled, failing, fine

    cancelled, failing, fine = asyncio.run(main())
    assert cancelled.cancelled()
    with pytest.raises(RuntimeError, match="a bug"):
        failing.result()
    assert fine.result() == classify(body(PROMPTS[1]))
    assert batcher.classified == 3


def test_the_gateway_classifies_concurrent_requests_in_batches(gateway, upstream):
    import httpx

    from tests.conftest import MASTER_KEY

    async def burst():
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=20,
                                     headers={"Authorization": f"Bearer {MASTER_KEY}"}) as client:
            return await asyncio.gather(*(client.post("/chat/completions", json=body(PROMPTS[i % 4]))
                                          for i in range(48)))

    responses = asyncio.run(burst())
    assert all(r.status_code == 200 for r in responses)
    categories = {r.headers["x-gateway-category"] for r in responses}
    assert categories == {classify(body(p)).category for p in PROMPTS}  # each got its own classification
    batcher = gateway.app.state.ctx.classifier
    assert batcher.classified == 48 and batcher.batches < 48  # some arrived together and shared a turn
