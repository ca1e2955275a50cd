"""Tool-call and json_schema validation, repair prompts and stream assembly (pure)."""

from __future__ import annotations

from gateway.toolcalls import (
    StreamedCallIndexes,
    ToolCallAssembler,
    answer_problems,
    needs_validation,
    non_streaming,
    repair_request,
    tool_call_chunks,
)

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
          "required": ["city"], "additionalProperties": False}
REQUEST = {"model": "auto", "messages": [{"role": "user", "content": "weather?"}],
           "tools": [{"type": "function", "function": {"name": "forecast", "parameters": SCHEMA}},
                     {"type": "function", "function": {"name": "now"}}]}


def call(name="forecast", arguments='{"city": "Oslo"}'):
    return {"id": "c1", "type": "function", "function": {"name": name, "arguments": arguments}}


def message(*calls, content=None):
    return {"role": "assistant", "content": content, "tool_calls": list(calls)} if calls else \
        {"role": "assistant", "content": content}


def test_valid_call_has_no_problems():
    assert answer_problems(message(call()), REQUEST) == []
    assert answer_problems(message(call("now", "{}")), REQUEST) == []
    assert answer_problems(message(content="no tool needed"), REQUEST) == []


def test_each_kind_of_invalid_call():
    assert "no tool named" in answer_problems(message(call("delete_all")), REQUEST)[0]
    assert "not valid JSON" in answer_problems(message(call(arguments='{"city": "Os')), REQUEST)[0]
    assert "JSON object" in answer_problems(message(call(arguments='["Oslo"]')), REQUEST)[0]
    assert "'city' is a required property" in answer_problems(message(call(arguments="{}")), REQUEST)[0]
    assert "is not of type 'integer'" in answer_problems(message(call(arguments='{"city":"x","days":"2"}')),
                                                         REQUEST)[0]
    assert "Additional properties" in answer_problems(message(call(arguments='{"city":"x","u":1}')), REQUEST)[0]


def test_tool_choice_is_respected():
    required = {**REQUEST, "tool_choice": "required"}
    assert "calls no tool" in answer_problems(message(content="hi"), required)[0]
    named = {**REQUEST, "tool_choice": {"type": "function", "function": {"name": "now"}}}
    assert "requires a call to 'now'" in answer_problems(message(call()), named)[0]
    none = {**REQUEST, "tool_choice": "none"}
    assert "'none'" in answer_problems(message(call()), none)[0]


def test_json_schema_answers():
    request = {"messages": [], "response_format": {"type": "json_schema", "json_schema": {
        "name": "p", "schema": {"type": "object", "required": ["name"]}}}}
    assert needs_validation(request) and not needs_validation({"messages": []})
    assert answer_problems({"content": '{"name": "Ada"}'}, request) == []
    assert "not valid JSON" in answer_problems({"content": "Sure! {name: Ada}"}, request)[0]
    assert "'name' is a required property" in answer_problems({"content": "{}"}, request)[0]


def test_repair_request_states_the_problems():
    repaired = repair_request({**REQUEST, "stream": True}, message(call(arguments="{}")), ["missing city"])
    assert repaired["stream"] is False
    assert repaired["messages"][-2]["role"] == "assistant" and "forecast" in repaired["messages"][-2]["content"]
    assert "missing city" in repaired["messages"][-1]["content"]
    assert repaired["messages"][:-2] == REQUEST["messages"]


def test_repair_request_drops_stream_options():
    streamed = {**REQUEST, "stream": True, "stream_options": {"include_usage": True}}
    repaired = repair_request(streamed, message(call(arguments="{}")), ["missing city"])
    # OpenAI answers 400 to stream_options without stream: a repair must not carry it.
    assert repaired["stream"] is False and "stream_options" not in repaired
    assert non_streaming(streamed) == {**REQUEST, "stream": False}
    assert "stream_options" in streamed  # the client's request is left as it was


def test_assembler_joins_parallel_streamed_calls():
    assembler = ToolCallAssembler()
    assembler.add([{"index": 0, "id": "a", "type": "function", "function": {"name": "forecast", "arguments": ""}}])
    assembler.add([{"index": 1, "id": "b", "type": "function", "function": {"name": "now", "arguments": ""}}])
    assembler.add([{"index": 0, "function": {"arguments": '{"city":'}}])
    assembler.add([{"index": 1, "function": {"arguments": "{}"}}])
    assembler.add([{"index": 0, "function": {"arguments": '"Oslo"}'}}])
    assembled = assembler.message()
    assert [c["id"] for c in assembled["tool_calls"]] == ["a", "b"]
    assert assembled["tool_calls"][0]["function"] == {"name": "forecast", "arguments": '{"city":"Oslo"}'}
    chunks = tool_call_chunks({"id": "x", "object": "chat.completion.chunk"}, assembled["tool_calls"])
    assert [c["choices"][0]["delta"]["tool_calls"][0]["index"] for c in chunks] == [0, 1]
    assert answer_problems(assembled, REQUEST) == []


def test_an_invalid_client_schema_is_named_and_a_valid_one_compiled_once():
    from gateway.toolcalls import _compiled, schema_error

    assert "'bogus'" in schema_error({"type": "bogus"})
    assert "(at required)" in schema_error({"type": "object", "required": "city"})
    assert schema_error({"type": "object", "properties": {"city": {"type": "string"}}}) is None
    before = _compiled.cache_info().hits
    schema_error({"properties": {"city": {"type": "string"}}, "type": "object"})  # same schema, other key order
    assert _compiled.cache_info().hits == before + 1


def test_refs_resolve_inside_the_schema_only_and_nothing_is_fetched():
    import socket

    from gateway.toolcalls import schema_error

    local = {"type": "object", "$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}}
    assert schema_error(local) is None
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"n": {"type": "integer"}},
              "type": "object", "properties": {"a": {"$ref": "#/definitions/n"}}}
    assert schema_error(draft7) is None
    by_id = {"$id": "https://schemas.test/root", "$defs": {"n": {"$id": "n.json", "type": "integer"}},
             "type": "object", "properties": {"a": {"$ref": "n.json"}}}
    assert schema_error(by_id) is None
    tool = {"model": "auto", "messages": [], "tools": [{"type": "function", "function": {"name": "f", "parameters": local}}]}
    bad = message({"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": "x"}'}})
    assert any("'x' is not of type 'integer'" in p for p in answer_problems(bad, tool))

    with socket.socket() as listener:  # a schema server the gateway must never call
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        remote = f"http://127.0.0.1:{listener.getsockname()[1]}/schema.json"
        for ref in ("#/$defs/missing", remote, "other.json#/x"):
            problem = schema_error({"type": "object", "properties": {"a": {"$ref": ref}}})
            assert problem is not None and repr(ref) in problem and "$defs" in problem, problem
        try:
            listener.accept()
            raise AssertionError("the gateway fetched a client's $ref")
        except BlockingIOError:
            pass


def test_allowed_tools_limit_the_calls_and_custom_tools_are_not_checked():
    allowed = {"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [
        {"type": "function", "function": {"name": "now"}}]}}
    request = {**REQUEST, "tool_choice": allowed}
    assert answer_problems(message(call("now", "{}")), request) == []
    assert any("allows only now" in p for p in answer_problems(message(call()), request))
    assert any("calls none" in p for p in answer_problems(message(content="no"), request))
    custom = {**REQUEST, "tools": [*REQUEST["tools"], {"type": "custom", "custom": {"name": "sql"}}]}
    assert needs_validation(REQUEST) and not needs_validation(custom)


def numbered(deltas_per_chunk: list[list[dict]]) -> list[list[int]]:
    indexes = StreamedCallIndexes()
    seen = []
    for deltas in deltas_per_chunk:
        indexes.number({"choices": [{"index": 0, "delta": {"tool_calls": deltas}}]})
        seen.append([delta["index"] for delta in deltas])
    return seen


def piece(call_id=None, name=None, arguments="", index=None):
    delta = {"function": {"arguments": arguments, **({"name": name} if name else {})}}
    return {**delta, **({"id": call_id} if call_id else {}), **({"index": index} if index is not None else {})}


def test_streamed_calls_are_numbered_by_their_ids_as_openai_numbers_them():
    # OpenAI's own numbering is kept.
    assert numbered([[piece("a", "f", "", 0)], [piece(arguments="{}", index=0)], [piece("b", "g", "", 1)],
                     [piece(arguments="{}", index=1)]]) == [[0], [0], [1], [1]]
    # Gemini's OpenAI-compatible endpoint: parallel calls without an index, or all at index 0, and argument
    # pieces without either that continue the call before them.
    assert numbered([[piece("a", "f", "{}"), piece("b", "g", "{}")]]) == [[0, 1]]
    assert numbered([[piece("a", "f", "", 0)], [piece(arguments="{}")], [piece("b", "g", "", 0)],
                     [piece(arguments="{}", index=0)]]) == [[0], [0], [1], [1]]
    assert numbered([[piece(name="f", arguments="{}", index=3)], [piece(arguments="", index=3)]]) == [[0], [0]]
    # A call whose id comes after its first piece stays one call; the next call is the next index.
    assert numbered([[piece(name="f", index=0)], [piece("a", arguments="{}", index=0)], [piece("b", "g", "{}", 1)]]) \
        == [[0], [0], [1]]


def test_two_indexless_calls_assemble_as_two():
    indexes, assembler = StreamedCallIndexes(), ToolCallAssembler()
    for deltas in ([piece("a", "forecast", '{"city": "Paris"}'), piece("b", "now", "{}")],):
        chunk = {"choices": [{"index": 0, "delta": {"tool_calls": deltas}}]}
        indexes.number(chunk)
        assembler.add(chunk["choices"][0]["delta"]["tool_calls"])
    message = assembler.message()
    assert [(c["id"], c["function"]["name"]) for c in message["tool_calls"]] == [("a", "forecast"), ("b", "now")]
    assert answer_problems(message, REQUEST, "tool_calls") == []
