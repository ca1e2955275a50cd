"""Routing through the running app with the official SDK: categories, verdicts, explain, reload."""

from __future__ import annotations

import shutil
import time

import httpx
import openai
import pytest

from gateway.ledger import upgrade
from gateway.policy import CATEGORIES
from gateway.routing import conversation_key
from tests.conftest import MASTER_KEY
from tests.mock_upstream import wait_for

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
ADMIN = "gw-admin-routing-test"


def sdk(gateway, key=MASTER_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.base_url, api_key=key, max_retries=0)


def ask(gateway, content, category=None, key=MASTER_KEY, **extra):
    headers = {"x-gateway-category": category} if category else {}
    return sdk(gateway, key).chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": content}], extra_headers=headers, **extra)


def test_trusted_category_header_picks_the_route(gateway, upstream):
    raw = ask(gateway, "anything", category="P1")
    assert raw.headers["x-gateway-category"] == "P1"
    assert raw.headers["x-gateway-verdict"] == "do_not_substitute"
    assert raw.headers["x-gateway-model"] == "claude-opus-4.7"
    assert upstream.seen[-1].path.endswith("/v1/messages")
    raw = ask(gateway, "anything", category="n4")
    assert (raw.headers["x-gateway-model"], raw.headers["x-gateway-verdict"]) == ("deepseek-v4-pro", "substitute")
    assert raw.parse().model == "deepseek-v4-pro"


def test_what_claude_cannot_take_is_served_by_the_plans_next_deployment(gateway, upstream):
    # P1 goes to Claude first; logprobs, audio parts and function-role history would be lost or refused there.
    audio = [{"type": "text", "text": "what is said here?"},
             {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]
    for extra in ({"logprobs": True, "top_logprobs": 2}, {"messages": [{"role": "user", "content": audio}]},
                  {"messages": [{"role": "user", "content": "hi"}, {"role": "function", "name": "f", "content": "1"}]}):
        upstream.seen.clear()
        body = {"messages": [{"role": "user", "content": "anything"}], **extra}
        raw = sdk(gateway).chat.completions.with_raw_response.create(model="auto", extra_headers={
            "x-gateway-category": "P1"}, **body)
        assert raw.headers["x-gateway-model"] != "claude-opus-4.7", extra
        assert [seen.path for seen in upstream.seen if seen.path.endswith("/v1/messages")] == []  # nothing sent
    with pytest.raises(openai.BadRequestError, match="whose Messages API takes no logprobs") as refused:
        sdk(gateway).chat.completions.create(model="claude-opus-4.7", logprobs=True,
                                             messages=[{"role": "user", "content": "hi"}])
    assert refused.value.body["param"] == "model"


def test_a_reasoning_model_gets_max_completion_tokens_and_other_sampling_moves_on(gateway, upstream):
    # P4 routes to GPT-5.5, which refuses max_tokens and any temperature but 1; its fallbacks are Claude Opus 4.7
    # (which refuses other sampling too) and Gemini.
    raw = ask(gateway, "anything", category="P4", max_tokens=300, temperature=1, top_p=1)
    assert raw.headers["x-gateway-model"] == "gpt-5.5"
    sent = upstream.seen[-1].body
    assert "max_tokens" not in sent and sent["max_completion_tokens"] == 300
    assert "temperature" not in sent and "top_p" not in sent  # the defaults: left out
    upstream.seen.clear()
    raw = ask(gateway, "anything", category="P4", temperature=0.2)
    assert raw.headers["x-gateway-model"] == "gemini-3.1-pro" and raw.headers["x-gateway-attempts"] == "1"
    assert [seen.path for seen in upstream.seen if "gemini" not in seen.path] == []  # nothing sent elsewhere
    assert upstream.seen[-1].body["temperature"] == 0.2
    with pytest.raises(openai.BadRequestError, match="gpt-5.5 takes only the default temperature") as refused:
        sdk(gateway).chat.completions.create(model="gpt-5.5", temperature=0.2,
                                             messages=[{"role": "user", "content": "hi"}])
    assert refused.value.body["param"] == "temperature"


@pytest.mark.parametrize("stream", [False, True])
def test_claude_opus_47_is_sent_no_sampling_and_other_sampling_moves_on(gateway, upstream, stream):
    # P1 routes to Claude Opus 4.7, which removed temperature, top_p and top_k (a 400 for any but the default).
    raw = ask(gateway, "anything", category="P1", temperature=1, top_p=1, stream=stream)
    assert raw.headers["x-gateway-model"] == "claude-opus-4.7"
    assert (list(raw.parse())[0].choices if stream else raw.parse().choices)  # answered
    sent = upstream.seen[-1].body
    assert sent["model"] == "claude-opus-4-7" and not {"temperature", "top_p", "top_k"} & set(sent)
    upstream.seen.clear()
    raw = ask(gateway, "anything", category="P1", temperature=0, stream=stream)
    assert raw.headers["x-gateway-model"] == "gemini-3.1-pro"  # GPT-5.5, the next route, refuses it too
    if stream:
        list(raw.parse())
    assert [seen.path for seen in upstream.seen if "gemini" not in seen.path] == []
    for name, value in (("temperature", 0.2), ("top_p", 0.9), ("top_k", 5)):
        with pytest.raises(openai.BadRequestError, match=f"claude-opus-4.7 takes .*{name}") as refused:
            sdk(gateway).chat.completions.create(model="claude-opus-4.7", messages=[{"role": "user", "content": "hi"}],
                                                 stream=stream, **({name: value} if name != "top_k" else
                                                                   {"extra_body": {name: value}}))
        assert refused.value.body["param"] == name


def test_a_request_every_route_refuses_takes_the_last_resort_model(gateway, upstream):
    # P4: GPT-5.5 and Claude Opus 4.7 refuse temperature 0.2, Gemini refuses seed; DeepSeek V4 Pro takes both.
    raw = ask(gateway, "anything", category="P4", temperature=0.2, seed=7)
    assert raw.headers["x-gateway-model"] == "deepseek-v4-pro" and raw.headers["x-gateway-attempts"] == "1"
    assert [seen.path for seen in upstream.seen] == ["/deepseek-v4-pro@deepseek/v1/chat/completions"]
    explained = httpx.post(gateway.base_url + "/routing/explain", headers={**AUTH, "x-gateway-category": "P4"},
                           json={"model": "auto", "messages": [{"role": "user", "content": "x"}],
                                 "temperature": 0.2, "seed": 7}).json()
    assert "last-resort model" in " ".join(explained["reasons"])


def test_category_header_is_ignored_from_untrusted_callers(start_gateway):
    gateway = start_gateway(master_key=None)  # anonymous loopback callers are not trusted
    raw = ask(gateway, "Translate into German: the meeting moved to Friday.", category="P1", key="anything")
    assert raw.headers["x-gateway-category"] != "P1" or raw.headers["x-gateway-model"] != "claude-opus-4.7"


def test_classifier_routes_unlabelled_requests(gateway):
    raw = ask(gateway, "Translate the following paragraph into Japanese, keeping the formal register: "
                       "'We are pleased to announce that the new office in Osaka opens next month.'")
    assert raw.headers["x-gateway-category"] == "N5"
    assert raw.headers["x-gateway-model"] == "gemini-3.1-pro"
    tools = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
    raw = ask(gateway, "Find the latest invoices for ACME and total them.", tools=tools)
    assert raw.headers["x-gateway-category"] == "P10"
    assert raw.headers["x-gateway-model"] == "gpt-5.5"


def test_explain_returns_the_plan_without_calling_upstream(gateway, upstream):
    body = {"model": "auto", "messages": [{"role": "user", "content": "Summarise this meeting transcript: ..."}]}
    response = httpx.post(gateway.base_url + "/routing/explain", json=body,
                          headers={**AUTH, "x-gateway-category": "N2"})
    assert response.status_code == 200
    answer = response.json()
    assert {"category", "confidence", "verdict", "model", "deployment", "candidates", "reasons"} <= set(answer)
    assert answer["category"] == "N2" and answer["model"] == "deepseek-v4-pro"
    assert answer["deployment"] == "deepseek-v4-pro@deepseek"
    assert all("estimated_cost_usd" in c for c in answer["candidates"])
    assert float(answer["candidates"][0]["estimated_cost_usd"]) > 0
    assert upstream.seen == []


def test_an_inline_image_counts_as_an_image_not_as_its_base64(gateway, upstream):
    image = "data:image/png;base64," + "A" * 4_500_000  # ~4.5 MB of base64: ~1.1M tokens if read as text
    content = [{"type": "text", "text": "What is in this picture?"}, {"type": "image_url", "image_url": {"url": image}}]
    body = {"model": "gpt-5.5", "messages": [{"role": "user", "content": content}]}
    response = httpx.post(gateway.base_url + "/routing/explain", json=body, headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text[:300]
    chosen = next(c for c in response.json()["candidates"] if c["model"] == "gpt-5.5")
    assert float(chosen["estimated_cost_usd"]) < 0.05  # ~1,000 tokens for the image, not ~1.1M
    response = httpx.post(gateway.base_url + "/chat/completions", json=body, headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text[:300]


def test_sticky_conversation_stays_on_the_first_model(gateway, upstream):
    first = [{"role": "system", "content": "You are a helpful assistant."},
             {"role": "user", "content": "Summarise: the quarterly numbers are up."}]
    client = sdk(gateway)
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=first,
                                                           extra_headers={"x-gateway-category": "N2"})
    assert raw.headers["x-gateway-model"] == "deepseek-v4-pro"
    later = [*first, {"role": "assistant", "content": "Numbers are up."},
             {"role": "user", "content": "Now refactor our billing module across all files."}]
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=later,
                                                           extra_headers={"x-gateway-category": "P1"})
    assert raw.headers["x-gateway-category"] == "P1"
    assert raw.headers["x-gateway-model"] == "deepseek-v4-pro"  # stays where the conversation started


def test_the_requests_of_a_tool_loop_stay_on_the_model_that_served_its_first_turn(gateway, upstream):
    # Every request of a tool loop carries one user message; only the first is the conversation's first turn.
    client = sdk(gateway)
    call = {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "a.py"}'}}
    opening = [{"role": "system", "content": "You are a coding agent."},
               {"role": "user", "content": "Refactor the billing module across all files."}]
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=opening,
                                                           extra_headers={"x-gateway-category": "P1"})
    assert raw.headers["x-gateway-model"] == "claude-opus-4.7"
    loop = [*opening, {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "Traceback (most recent call last): ..."}]
    for category in ("P10", "N4"):  # what the tool results alone would be routed as
        raw = client.chat.completions.with_raw_response.create(model="auto", messages=loop,
                                                               extra_headers={"x-gateway-category": category})
        assert raw.headers["x-gateway-model"] == "claude-opus-4.7", category  # and it does not re-pin either
    assert conversation_key(loop)[1] is False and conversation_key(opening)[1] is True


def test_a_first_turn_served_by_a_fallback_in_an_outage_does_not_pin_the_conversation(start_gateway, upstream):
    from tests.mock_upstream import Reply, default_handler

    gateway = start_gateway(retries=0, breaker_failures=1000)
    claude_down = {"down": True}

    def handler(path, body):
        if path.endswith("/v1/messages") and claude_down["down"]:
            return Reply(status=503, json={"error": {"message": "overloaded"}})
        return default_handler(path, body)

    upstream.handler = handler
    first = [{"role": "user", "content": "Refactor our billing module across all files."}]
    client = sdk(gateway)
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=first,
                                                           extra_headers={"x-gateway-category": "P1"})
    assert raw.headers["x-gateway-model"] != "claude-opus-4.7"  # P1's route is down: a fallback answers
    claude_down["down"] = False
    later = [*first, {"role": "assistant", "content": "Done."}, {"role": "user", "content": "Now the tests."}]
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=later,
                                                           extra_headers={"x-gateway-category": "P1"})
    assert raw.headers["x-gateway-model"] == "claude-opus-4.7"  # back on its category's model, not pinned


def test_explicit_model_is_honoured_for_an_unconstrained_caller(gateway):
    raw = sdk(gateway).chat.completions.with_raw_response.create(
        model="gpt-5.5", messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-gateway-verdict"] == "explicit" and raw.headers["x-gateway-model"] == "gpt-5.5"


def test_a_constrained_team_is_refused_a_forbidden_model_and_told_how_it_was_classified(start_gateway, tmp_path):
    database = f"sqlite:///{tmp_path}/ledger.db"
    upgrade(database)
    gateway = start_gateway(database_url=database, admin_key=ADMIN, spool_dir=tmp_path / "spool")
    created = httpx.post(gateway.url + "/admin/keys", json={"team": "regulated"},
                         headers={"Authorization": f"Bearer {ADMIN}"}).json()
    response = httpx.post(gateway.base_url + "/chat/completions",
                          json={"model": "claude-opus-4.7", "messages": [{"role": "user", "content": "Fix this bug."}]},
                          headers={"Authorization": f"Bearer {created['key']}", "x-gateway-category": "P1"})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["type"] == "permission_error" and "self-hosted" in error["message"]
    # the regulated team may not name its category: the header is ignored, the classifier decides
    assert response.headers["x-gateway-category"] in CATEGORIES
    assert response.headers["x-gateway-verdict"]


def test_a_team_allowed_to_name_its_category_is_trusted(start_gateway, mock_policies, tmp_path):
    policies = tmp_path / "policies"
    shutil.copytree(mock_policies, policies)
    routing = policies / "routing.yaml"
    routing.write_text(routing.read_text().replace("teams:\n", "teams:\n  labelled:\n    allow_category_header: true\n", 1))
    database = f"sqlite:///{tmp_path}/ledger.db"
    upgrade(database)
    gateway = start_gateway(policies=policies, database_url=database, admin_key=ADMIN, spool_dir=tmp_path / "spool")
    keys = {team: httpx.post(gateway.url + "/admin/keys", json={"team": team},
                             headers={"Authorization": f"Bearer {ADMIN}"}).json()["key"]
            for team in ("labelled", "search")}
    assert ask(gateway, "anything at all", category="P1", key=keys["labelled"]).headers["x-gateway-category"] == "P1"
    raw = ask(gateway, "Translate into German: the meeting moved to Friday.", category="P1", key=keys["search"])
    assert raw.headers["x-gateway-category"] != "P1"


def test_hot_reload_valid_and_invalid(start_gateway, mock_policies, tmp_path):
    policies = tmp_path / "policies"
    shutil.copytree(mock_policies, policies)
    gateway = start_gateway(policies=policies, policy_poll_s=0.1)
    explain = lambda: httpx.post(gateway.base_url + "/routing/explain",  # noqa: E731
                                 json={"model": "auto", "messages": [{"role": "user", "content": "x"}]},
                                 headers={**AUTH, "x-gateway-category": "N9"}).json()
    assert explain()["model"] == "deepseek-v4-pro"
    routing = policies / "routing.yaml"
    original = routing.read_text()
    changed = original.replace('  N9:\n    verdict: substitute\n    route: deepseek-v4-pro',
                               '  N9:\n    verdict: do_not_substitute\n    route: claude-opus-4.7')
    assert changed != original
    time.sleep(0.05)
    routing.write_text(changed)
    assert wait_for(lambda: explain()["model"] == "claude-opus-4.7", timeout=5)
    routing.write_text(changed.replace("route: claude-opus-4.7", "route: no-such-model", 1))
    time.sleep(0.5)
    assert explain()["model"] == "claude-opus-4.7"  # invalid change refused, old policy kept


def test_sticky_conversations_are_kept_apart_by_team():
    opening = [{"role": "user", "content": "Hello, can you help me plan a trip?"}]
    later = [*opening, {"role": "assistant", "content": "Sure."}, {"role": "user", "content": "To Oslo."}]
    first, first_turn = conversation_key(opening, "team-a")
    assert first_turn and first == conversation_key(later, "team-a")[0]  # later turns find the first turn's key
    assert conversation_key(later, "team-a")[1] is False
    assert first != conversation_key(opening, "team-b")[0]


IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


@pytest.mark.parametrize("category", ["N2", "N4"])
def test_a_prompt_with_an_image_is_planned_onto_a_model_that_takes_images(gateway, upstream, category):
    # N2 and N4 go to DeepSeek V4 Pro, a text model whose API answers 400 to an image part.
    content = [{"type": "text", "text": "Summarise what this chart shows."}, IMAGE]
    raw = ask(gateway, content, category=category)
    assert raw.headers["x-gateway-model"] not in ("deepseek-v4-pro", "deepseek-v4-flash"), category
    assert not any("deepseek" in seen.path for seen in upstream.seen)
    assert "iVBORw0KGgo=" in str(upstream.seen[-1].body["messages"])  # the image went with it
    # The same words with no image stay on the route the category names.
    assert ask(gateway, "Summarise what this chart shows.", category="N4").headers["x-gateway-model"] == \
        "deepseek-v4-pro"


def test_a_text_model_asked_for_by_name_refuses_an_image_and_audio_and_claude_refuses_audio(gateway, upstream):
    audio = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    for model, part, kind in (("deepseek-v4-pro", IMAGE, "image"), ("deepseek-v4-flash", audio, "audio"),
                              ("claude-opus-4.7", audio, "audio")):
        with pytest.raises(openai.BadRequestError, match=f"{model} takes no {kind} input") as refused:
            sdk(gateway).chat.completions.create(model=model, messages=[
                {"role": "user", "content": [{"type": "text", "text": "what is this?"}, part]}])
        assert refused.value.body["param"] == "messages"
    assert upstream.seen == []
    # Text that merely names an image part is text.
    raw = sdk(gateway).chat.completions.with_raw_response.create(model="deepseek-v4-pro", messages=[
        {"role": "user", "content": 'Why does the API refuse {"type": "image_url"} for this model?'}])
    assert raw.headers["x-gateway-model"] == "deepseek-v4-pro"


def test_a_prompt_with_audio_that_no_model_of_its_route_takes_goes_to_one_that_does(gateway, upstream):
    # N4: DeepSeek V4 Pro, then Claude (no audio), then the last resort (text models): Gemini, the uncertain route.
    audio = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    raw = ask(gateway, [{"type": "text", "text": "Transcribe and summarise."}, audio], category="N4")
    assert raw.headers["x-gateway-model"] == "gemini-3.1-pro"
    assert [seen.path for seen in upstream.seen] == ["/gemini-3.1-pro@google/v1/chat/completions"]
    explained = httpx.post(gateway.base_url + "/routing/explain", headers={**AUTH, "x-gateway-category": "N4"},
                           json={"model": "auto", "messages": [{"role": "user", "content": [audio]}]}).json()
    assert "can take audio input now: one that can" in " ".join(explained["reasons"])
