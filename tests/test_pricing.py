"""Golden pricing tests, each built from a real usage payload shape of its provider."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.catalogue import CatalogueError, load_catalogue, parse_catalogue
from gateway.pricing import PriceEntry, Rates, Tier, TimeWindow, cost, cost_of, prompt_and_answer_cost, request_cost
from gateway.providers.anthropic_answers import StreamTranslator
from gateway.usage import Usage, from_anthropic, from_openai

CATALOGUE = load_catalogue(Path(__file__).resolve().parents[1] / "policies")
APRIL = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)  # before DeepSeek's peak/off-peak change
TUESDAY_PEAK = datetime(2026, 9, 1, 2, 30, tzinfo=UTC)
TUESDAY_OFF_PEAK = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
SATURDAY_PEAK_HOURS = datetime(2026, 9, 5, 2, 30, tzinfo=UTC)


def dep(name: str):
    deployment = CATALOGUE.deployment(name)
    assert deployment is not None
    return deployment


def test_openai_prompt_tokens_include_cached_tokens():
    payload = {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
               "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
               "completion_tokens_details": {"reasoning_tokens": 128, "audio_tokens": 0,
                                             "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
    usage = from_openai(payload)
    assert usage == Usage(input=86, cached_input=1920, output=300, reasoning=128)
    # 86 x $5 + 1920 x $0.50 + 300 x $30 (reasoning is inside output, not billed twice)
    assert cost(usage, dep("gpt-5.5@openai"), APRIL) == Decimal("0.01039")


def test_deepseek_hit_field_wins_and_is_never_added_to_cached_tokens():
    payload = {"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050,
               "prompt_cache_hit_tokens": 768, "prompt_cache_miss_tokens": 232,
               "prompt_tokens_details": {"cached_tokens": 768},
               "completion_tokens_details": {"reasoning_tokens": 20}}
    usage = from_openai(payload)
    assert usage == Usage(input=232, cached_input=768, output=50, reasoning=20)
    # April price: 232 x $1.74 + 768 x $0.17 + 50 x $3.48
    assert cost(usage, dep("deepseek-v4-pro@deepseek"), APRIL) == Decimal("0.00070824")


def test_gemini_thinking_counted_only_in_total_tokens_is_billed_as_output():
    # Gemini's OpenAI-compatible usage: 93 thinking tokens in total_tokens, not in completion_tokens.
    payload = {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 103}
    assert from_openai(payload) == Usage(input=9, output=94, reasoning=93)
    # A total that adds up (OpenAI, DeepSeek) changes nothing; neither does one missing.
    assert from_openai({"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}) == Usage(input=9, output=1)
    assert from_openai({"prompt_tokens": 9, "completion_tokens": 1}) == Usage(input=9, output=1)
    # DeepSeek's shape without prompt_tokens: its hits and misses are the prompt.
    assert from_openai({"prompt_cache_hit_tokens": 100, "prompt_cache_miss_tokens": 50, "completion_tokens": 10,
                        "total_tokens": 160}) == Usage(input=50, cached_input=100, output=10)
    # A total that is no token count is not read (it would price past the ledger's money column).
    assert from_openai({"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10**30}) == Usage(input=9, output=1)


def test_deepseek_without_details_and_with_zero_hits():
    usage = from_openai({"prompt_tokens": 10, "completion_tokens": 2, "prompt_cache_hit_tokens": 0,
                         "prompt_cache_miss_tokens": 10})
    assert usage == Usage(input=10, output=2)


def test_anthropic_input_excludes_cache_reads_and_writes_with_1h_writes_at_2x():
    payload = {"input_tokens": 50, "cache_creation_input_tokens": 1000, "cache_read_input_tokens": 2000,
               "output_tokens": 400, "service_tier": "standard",
               "cache_creation": {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 400}}
    usage = from_anthropic(payload)
    assert usage == Usage(input=50, cached_input=2000, cache_write=1000, output=400, cache_write_1h=400)
    assert usage.prompt_tokens == 3050
    # 50 x 5 + 2000 x 0.50 (0.1x) + 600 x 6.25 (1.25x) + 400 x 10 (2x) + 400 x 25
    assert cost(usage, dep("claude-opus-4.7@anthropic"), APRIL) == Decimal("0.019")


def test_anthropic_streamed_usage_is_cumulative_take_the_last():
    translator = StreamTranslator()
    translator.handle("message_start", {"type": "message_start", "message": {
        "id": "m", "model": "claude", "usage": {"input_tokens": 50, "cache_read_input_tokens": 2000,
                                                "cache_creation_input_tokens": 0, "output_tokens": 1}}})
    translator.handle("message_delta", {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 200}})
    translator.handle("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                        "usage": {"output_tokens": 400}})
    assert translator.usage == Usage(input=50, cached_input=2000, output=400)


def test_peak_and_off_peak_windows():
    usage = Usage(input=1_000_000, output=1_000_000)
    deepseek = dep("deepseek-v4-pro@deepseek")
    assert cost(usage, deepseek, APRIL) == Decimal("5.22")
    assert cost(usage, deepseek, TUESDAY_PEAK) == Decimal("5.28")  # 1.32 + 3.96
    assert cost(usage, deepseek, TUESDAY_OFF_PEAK) == Decimal("2.64")
    assert cost(usage, deepseek, SATURDAY_PEAK_HOURS) == Decimal("2.64")  # weekends are off-peak


def test_context_length_tier():
    small = Usage(input=100_000, output=1000)
    large = Usage(input=300_000, output=1000)
    gpt = dep("gpt-5.5@openai")
    assert cost(small, gpt, APRIL) == Decimal("0.53")
    assert cost(large, gpt, APRIL) == Decimal("3.045")  # 300K x $10 + 1K x $45


def test_off_peak_multiplier_applies_to_the_tier_in_force():
    def rates(input_usd: str) -> Rates:
        d = Decimal(input_usd)
        return Rates(d, d / 10, d, d, d * 2)

    entry = PriceEntry(datetime(2026, 1, 1, tzinfo=UTC), rates("1"), "test", tiers=(Tier(1_500_000, rates("3")),),
                       peak_windows=(TimeWindow(frozenset(range(5)), 0, 8 * 60),), off_peak_multiplier=Decimal("0.5"))
    small, large = Usage(input=1_000_000), Usage(input=2_000_000)
    assert cost_of(small, [entry], TUESDAY_PEAK) == Decimal("1")
    assert cost_of(small, [entry], TUESDAY_OFF_PEAK) == Decimal("0.5")
    assert cost_of(large, [entry], TUESDAY_PEAK) == Decimal("6")
    assert cost_of(large, [entry], SATURDAY_PEAK_HOURS) == Decimal("3")


def _window_entry(days: str, hours: str) -> PriceEntry:
    catalogue = parse_catalogue(minimal([{"effective": "2026-01-01", "input": 1, "output": 2, "source": "s",
                                          "off_peak": {"multiplier": 0.5, "peak_utc": [{"days": days, "hours": hours}]}}]))
    return catalogue.deployment("m@x").prices[0]


@pytest.mark.parametrize("days, hours, at, peak", [
    ("all", "22:00-02:00", datetime(2026, 9, 1, 23, 0, tzinfo=UTC), True),   # before midnight
    ("all", "22:00-02:00", datetime(2026, 9, 2, 1, 59, tzinfo=UTC), True),   # after midnight
    ("all", "22:00-02:00", datetime(2026, 9, 2, 2, 0, tzinfo=UTC), False),
    ("all", "22:00-02:00", datetime(2026, 9, 2, 12, 0, tzinfo=UTC), False),
    ("fri", "22:00-02:00", datetime(2026, 9, 5, 1, 0, tzinfo=UTC), True),    # Saturday 01:00: Friday's window
    ("fri", "22:00-02:00", datetime(2026, 9, 4, 1, 0, tzinfo=UTC), False),   # Friday 01:00: Thursday had none
    ("fri-mon", "00:00-24:00", datetime(2026, 9, 5, 12, 0, tzinfo=UTC), True),  # Saturday, inside the wrap
    ("fri-mon", "00:00-24:00", datetime(2026, 9, 7, 12, 0, tzinfo=UTC), True),  # Monday
    ("fri-mon", "00:00-24:00", datetime(2026, 9, 8, 12, 0, tzinfo=UTC), False),  # Tuesday
    ("mon-tue,sun", "00:00-24:00", datetime(2026, 9, 6, 12, 0, tzinfo=UTC), True),  # Sunday, after a range
    ("mon-tue,sun", "00:00-24:00", datetime(2026, 9, 5, 12, 0, tzinfo=UTC), False),  # Saturday
    # 10:00 at UTC+8 is 02:00 UTC, inside a 01:00-04:00 UTC window.
    ("all", "01:00-04:00", datetime.fromisoformat("2026-09-01T10:00+08:00"), True),
])
def test_peak_windows_across_midnight_the_week_and_time_zones(days, hours, at, peak):
    entry = _window_entry(days, hours)
    assert cost_of(Usage(input=1_000_000), [entry], at) == (Decimal("1") if peak else Decimal("0.5"))


@pytest.mark.parametrize("hours", ["02:00-02:00", "24:00-02:00"])
def test_empty_peak_window_is_refused(hours):
    with pytest.raises(CatalogueError, match="empty window"):
        _window_entry("all", hours)


@pytest.mark.parametrize("at", [APRIL, TUESDAY_PEAK, TUESDAY_OFF_PEAK, SATURDAY_PEAK_HOURS])
def test_the_policys_estimate_is_the_cost_of_the_same_prompt_and_answer(at):
    # The policy prices every candidate with prompt_and_answer_cost: it must be cost() exactly,
    # across every deployment, peak windows and context tiers (300K prompts cross GPT-5.5's tier).
    for deployment in (d for model in CATALOGUE.models.values() for d in model.deployments):
        for prompt, output in [(0, 0), (1, 1), (250, 1024), (199_999, 4096), (300_000, 1000), (900_001, 0)]:
            expected = cost(Usage(input=prompt, output=output), deployment, at)
            assert prompt_and_answer_cost(deployment.prices, prompt, output, at) == expected, deployment.name


def test_baseline_counterfactual_is_the_same_usage_on_opus():
    usage = Usage(input=1000, cached_input=1000, output=1000)
    result = request_cost(usage, dep("deepseek-v4-flash@deepseek"), CATALOGUE.baseline(), APRIL)
    assert result.usd == Decimal("0.0004228")  # 1000 x 0.14 + 1000 x 0.0028 + 1000 x 0.28
    assert result.baseline_usd == Decimal("0.0305")  # 1000 x 5 + 1000 x 0.5 + 1000 x 25
    assert result.saved_usd == result.baseline_usd - result.usd
    assert result.cache_savings_usd == Decimal("0.0001372")  # 1000 x (0.14 - 0.0028)


def test_cache_write_tokens_in_openai_shape_are_not_billed_as_plain_input():
    usage = from_openai({"prompt_tokens": 100, "completion_tokens": 0,
                         "prompt_tokens_details": {"cached_tokens": 20, "cache_write_tokens": 30}})
    assert usage == Usage(input=50, cached_input=20, cache_write=30)


def test_round_trip_through_openai_shape_keeps_buckets():
    usage = Usage(input=7, cached_input=11, cache_write=13, output=17, reasoning=5)
    assert from_openai(usage.to_openai()) == usage


def test_missing_usage_is_zero_not_an_error():
    assert from_openai(None) == Usage() and from_anthropic({}) == Usage()


def minimal(prices):
    return {"models": {"m": {"context_window": 10, "deployments": [
        {"name": "m@x", "provider": "openai_compat", "base_url": "http://x", "prices": prices}]}},
        "baseline_model": "m"}


@pytest.mark.parametrize("prices, fragment", [
    ([{"effective": "2026-01-01", "input": 1, "output": 2}], "'source'"),
    ([{"effective": "2026-01-01", "output": 2, "source": "s"}], "'input' and 'output'"),
    ([{"input": 1, "output": 2, "source": "s"}], "'effective'"),
    ([{"effective": "2026-01-01", "input": -1, "output": 2, "source": "s"}], "negative"),
    ([{"effective": "2026-01-01", "input": 1, "output": 2, "source": "s",
       "off_peak": {"multiplier": 0.5, "peak_utc": [{"days": "funday", "hours": "01:00-02:00"}]}}], "days"),
    ([], "'prices' (or 'self_hosted_cost') is required"),
])
def test_invalid_price_entries_name_the_entry(prices, fragment):
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(minimal(prices))
    assert fragment in str(caught.value) and "models.m.deployments[0]" in str(caught.value)


def test_price_change_is_a_new_entry_and_old_times_keep_old_prices():
    flash = dep("deepseek-v4-flash@deepseek")
    assert len(flash.prices) == 2
    usage = Usage(output=1_000_000)
    assert cost(usage, flash, APRIL) == Decimal("0.28")
    assert cost(usage, flash, TUESDAY_PEAK) == Decimal("1.20")
