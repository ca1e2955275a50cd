"""The checks on upstream answers: what the gateway reads must have the shape it reads it in."""

from __future__ import annotations

import pytest

from gateway.providers.shapes import chunk_problem, completion_problem, usage_problem
from gateway.usage import from_openai

CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
GOOD_ANSWER = {"choices": [{"index": 0, "finish_reason": "tool_calls",
                            "message": {"role": "assistant", "content": None, "tool_calls": [CALL]}}],
               "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17,
                         "prompt_tokens_details": {"cached_tokens": 0}}}


def test_well_formed_answers_and_chunks_pass():
    assert completion_problem(GOOD_ANSWER) is None
    assert completion_problem({"choices": []}) is None  # no choices: passed on as the upstream sent it
    # Deltas carry tool calls in pieces: a name only in the first, arguments without a name later.
    assert chunk_problem({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]}}]}) is None
    assert chunk_problem({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "c1"}]}}]}) is None
    assert chunk_problem({"choices": [], "usage": {"prompt_tokens": 12.0, "completion_tokens": 5}}) is None
    assert chunk_problem({"choices": [{"index": 1, "delta": {"tool_calls": [
        {"index": 0, "custom": {"input": "SELECT"}}]}}]}) is None  # a custom call's input, in pieces


@pytest.mark.parametrize(("answer", "problem"), [
    ({"choices": {"0": {}}}, "choices is not an array"),
    ({"choices": ["text"]}, "choices[0] is not an object"),
    ({"choices": [{"message": "hello"}]}, "choices[0].message is not an object"),
    ({"choices": [{"message": {"content": ["hello"]}}]}, "choices[0].message.content is not a string"),
    ({"choices": [{"message": {"tool_calls": {"id": "c1"}}}]}, "tool_calls is not an array"),
    ({"choices": [{"message": {"tool_calls": [{"function": {"name": "f", "arguments": {}}}]}}]},
     "tool_calls[0].function.arguments is not a string"),
    ({"choices": [{"finish_reason": 1, "message": {}}]}, "finish_reason is not a string"),
    ({"choices": [{"index": [1], "message": {}}]}, "choices[0].index is not an integer"),
    ({"choices": [{"message": {"tool_calls": [{"type": "custom", "custom": {"name": "sql", "input": 5}}]}}]},
     "tool_calls[0].custom.input is not a string"),
    ({"choices": [], "usage": [12]}, "usage is not an object"),
])
def test_malformed_answers_are_named(answer, problem):
    assert problem in (completion_problem(answer) or "")


@pytest.mark.parametrize("count", ["12", -1, 12.5, True, float("inf"), 10**13, [1]])
def test_a_count_that_would_bill_wrongly_is_refused(count):
    assert usage_problem({"prompt_tokens": count}) == "usage.prompt_tokens is not a token count"
    assert "cached_tokens" in usage_problem({"prompt_tokens_details": {"cached_tokens": count}})


def test_fields_the_gateway_does_not_read_pass_unchecked():
    # Providers add their own details (audio, modalities, totals): none of them may fail a healthy answer.
    usage = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": "17",
             "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": None, "modality": "text"},
             "completion_tokens_details": {"reasoning_tokens": 0, "accepted_prediction_tokens": [0]}}
    assert usage_problem(usage) is None


def test_integral_float_counts_are_billed_not_dropped():
    usage = from_openai({"prompt_tokens": 12.0, "completion_tokens": 5.0,
                         "prompt_tokens_details": {"cached_tokens": 2.0}})
    assert (usage.input, usage.cached_input, usage.output) == (10, 2, 5)


@pytest.mark.parametrize(("call", "problem"), [
    ({"index": [0], "function": {"arguments": "{"}}, "tool_calls[0].index is not an integer"),
    ({"index": True}, "tool_calls[0].index is not an integer"),
    ({"index": 0, "id": 7}, "tool_calls[0].id is not a string"),
    ({"index": 0, "function": {"name": ["f"]}}, "tool_calls[0].function.name is not a string"),
])
def test_malformed_tool_call_deltas_are_named(call, problem):
    # The assembler keys calls by index and joins their pieces: these would fail inside it.
    assert problem in (chunk_problem({"choices": [{"delta": {"tool_calls": [call]}}]}) or "")
