"""Tool schemas, P10 agent requests, and the augmentations that break the tools/multi-turn shortcuts."""

from __future__ import annotations

import copy
import random
from typing import Any

from gateway.classify.corpus.assistant_tasks import CHATS
from gateway.classify.corpus.common import Material
from gateway.classify.corpus.systems import GENERIC_SYSTEMS

# (name, description, parameters, user requests that genuinely need the tool)
ToolSpec = tuple[str, str, dict[str, str], tuple[str, ...]]

TRAIN_TOOLS: tuple[ToolSpec, ...] = (
    (
        "get_weather",
        "Get the current weather for a city.",
        {"city": "string", "unit": "string"},
        ("What's the weather like in {city} right now?", "Do I need an umbrella in {city} today?"),
    ),
    (
        "search_web",
        "Search the web and return the top results.",
        {"query": "string", "num_results": "integer"},
        ("Look up the latest news about {thing} and tell me what you find.", "Search for reviews of {thing}."),
    ),
    (
        "create_calendar_event",
        "Create an event in the user's calendar.",
        {"title": "string", "start": "string", "duration_minutes": "integer"},
        (
            "Put a meeting with {person} on my calendar for Tuesday at 3pm.",
            "Schedule a 30 minute call called '{thing} sync' tomorrow morning.",
        ),
    ),
    (
        "send_email",
        "Send an email on behalf of the user.",
        {"to": "string", "subject": "string", "body": "string"},
        (
            "Email {person} that I'll be late to the standup.",
            "Send a thank-you email to {person} about the {thing} demo.",
        ),
    ),
    (
        "run_sql",
        "Run a read-only SQL query against the analytics warehouse.",
        {"query": "string"},
        (
            "How many signups did we have last week? Check the warehouse.",
            "Query the database for the top 10 customers by revenue.",
        ),
    ),
    (
        "read_file",
        "Read a file from the workspace.",
        {"path": "string"},
        (
            "Open {path} and tell me what the main function does.",
            "Read the config in {path} and check the timeout value.",
        ),
    ),
    (
        "write_file",
        "Write content to a file in the workspace.",
        {"path": "string", "content": "string"},
        ("Save a README with a short project description to {path}.",),
    ),
    (
        "get_stock_price",
        "Get the latest price for a stock ticker.",
        {"ticker": "string"},
        ("What's {ticker} trading at right now?", "Compare the current prices of {ticker} and MSFT."),
    ),
    (
        "book_flight",
        "Book a flight for the user.",
        {"origin": "string", "destination": "string", "date": "string"},
        (
            "Book me a flight from {city} to Lisbon on March 3rd.",
            "Find and book the cheapest flight to {city} next Friday.",
        ),
    ),
    (
        "convert_currency",
        "Convert an amount between currencies.",
        {"amount": "number", "from": "string", "to": "string"},
        ("How much is 250 euros in yen today?", "Convert 1200 USD to GBP."),
    ),
    (
        "create_ticket",
        "Open an issue in the tracker.",
        {"title": "string", "priority": "string", "assignee": "string"},
        ("File a high-priority bug for the {thing} outage and assign it to {person}.",),
    ),
    (
        "get_order_status",
        "Look up the status of a customer order.",
        {"order_id": "string"},
        ("Where is my order {order}?", "Check whether order {order} has shipped yet."),
    ),
    (
        "kubectl_get",
        "List Kubernetes resources in a namespace.",
        {"resource": "string", "namespace": "string"},
        ("Which pods in the {thing} namespace are not ready?", "Show me the failing deployments in production."),
    ),
    (
        "scale_service",
        "Scale a service to a number of replicas.",
        {"service": "string", "replicas": "integer"},
        ("Scale the {thing} service up to 6 replicas, traffic is spiking.",),
    ),
    (
        "search_catalog",
        "Search the store's product catalog.",
        {"query": "string", "max_price": "number"},
        ("Find me a waterproof jacket under $120 in size M.", "Do you have any {thing} in stock?"),
    ),
    (
        "add_to_cart",
        "Add a product to the shopping cart.",
        {"sku": "string", "quantity": "integer"},
        ("Put a USB-C cable in my cart.",),
    ),
    (
        "get_customer",
        "Fetch a customer's account by email.",
        {"email": "string"},
        (
            "Has {person}@example.com paid the last invoice?",
            "Look up the account for {person}@example.com and check for unpaid invoices.",
        ),
    ),
    (
        "query_logs",
        "Search application logs for a time range.",
        {"query": "string", "since": "string"},
        ("Find errors from the checkout service in the last hour.", "How many 500s did the API log since midnight?"),
    ),
    (
        "get_train_times",
        "Live departures for a railway station.",
        {"station": "string"},
        ("When's the next train from {city} to the airport?",),
    ),
    (
        "create_reminder",
        "Set a reminder for the user.",
        {"text": "string", "when": "string"},
        ("Remind me to call {person} at 5pm.", "Set a reminder for the {thing} deadline on Friday morning."),
    ),
    (
        "get_account_balance",
        "Get the balance of one of the user's bank accounts.",
        {"account": "string"},
        ("How much is left in my savings account?", "Can I afford a $900 transfer from checking right now?"),
    ),
)
# Held back from training so the shortcut-breaking evaluation uses tool sets the model never saw.
EVAL_TOOLS: tuple[ToolSpec, ...] = (
    (
        "lookup_patient_record",
        "Fetch a patient's chart by id.",
        {"patient_id": "string"},
        ("Pull up the chart for patient {order}.",),
    ),
    (
        "translate_document",
        "Machine-translate a stored document.",
        {"doc_id": "string", "target": "string"},
        ("Translate document {order} into Spanish.",),
    ),
    (
        "list_github_issues",
        "List open issues of a repository.",
        {"repo": "string", "label": "string"},
        ("Which bugs are open in {thing}?",),
    ),
    (
        "set_thermostat",
        "Set the home thermostat temperature.",
        {"celsius": "number"},
        ("Turn the heating up to 21 degrees.",),
    ),
    (
        "query_crm",
        "Search CRM contacts and deals.",
        {"filter": "string"},
        ("Find all deals with {person} that close this quarter.",),
    ),
    (
        "execute_python",
        "Run Python code in a sandbox.",
        {"code": "string"},
        ("Run a quick script to compute the mean of these numbers: 3, 9, 14.",),
    ),
)
_FILL = dict(
    city=("Berlin", "Tokyo", "Austin", "Nairobi", "Lima"),
    thing=("the Q3 launch", "solar panels", "Kubernetes 1.30", "the new iPhone"),
    person=("Priya", "Marco", "Dana", "Kenji"),
    path=("src/main.py", "config/app.yaml", "docs/setup.md"),
    ticker=("AAPL", "NVDA", "TSLA"),
    order=("A-10293", "88412", "ZX-7"),
)


def tool_schema(spec: ToolSpec) -> dict[str, Any]:
    """The OpenAI `tools` entry for a ToolSpec."""
    name, description, params, _ = spec
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {k: {"type": v} for k, v in params.items()},
                "required": list(params)[:1],
            },
        },
    }


def _fill(rng: random.Random, template: str) -> str:
    return template.format(**{k: rng.choice(v) for k, v in _FILL.items()})


_AGENT_SYSTEMS = (
    "You are a helpful assistant. Use the tools when needed.",
    "You are an SRE bot with tools for the cluster. Act through the tools.",
    "You help support agents; fetch account data with the functions provided.",
    "You are a shopping assistant that can search the catalog and manage the cart.",
    "Use the available functions to complete the user's request. Do not guess values you can look up.",
)


def p10(rng: random.Random, mat: Material, pool: tuple[ToolSpec, ...] = TRAIN_TOOLS) -> dict[str, Any]:
    """A tool-using request: a first turn that needs a tool, an agent loop mid-flight, or a ReAct text prompt."""
    specs = rng.sample(pool, min(len(pool), rng.randint(1, 4)))
    main = specs[0]
    ask = _fill(rng, rng.choice(main[3]))
    tools = [tool_schema(s) for s in specs]
    roll = rng.random()
    if roll < 0.45:
        messages: list[dict[str, Any]] = [{"role": "user", "content": ask}]
        if rng.random() < 0.4:
            messages.insert(0, {"role": "system", "content": rng.choice(_AGENT_SYSTEMS + GENERIC_SYSTEMS)})
        out: dict[str, Any] = {"model": "auto", "messages": messages, "tools": tools}
        if rng.random() < 0.15:
            out["tool_choice"] = rng.choice(["required", "auto"])
        return out
    if roll < 0.85:
        call_id = f"call_{rng.randint(1000, 9999)}"
        messages = [
            {"role": "user", "content": ask},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": call_id, "type": "function", "function": {"name": main[0], "arguments": "{}"}}],
            },
            {
                "role": "tool",
                "tool_call_id": call_id,
                "content": rng.choice(
                    ['{"status": "ok", "result": 42}', '{"error": "not found"}', '[{"title": "..."}]']
                ),
            },
        ]
        if rng.random() < 0.5:
            messages.append({"role": "assistant", "content": "Done. Anything else?"})
            messages.append({"role": "user", "content": _fill(rng, rng.choice(rng.choice(specs)[3]))})
        return {"model": "auto", "messages": messages, "tools": tools}
    listing = "\n".join(f"- {s[0]}: {s[1]}" for s in specs)
    text = (
        f"You have access to the following tools:\n{listing}\n\nUse this format:\nThought: ...\nAction: the tool name\n"
        f"Action Input: the input\nObservation: the result\n... (repeat)\nFinal Answer: ...\n\nQuestion: {ask}"
    )
    return {"model": "auto", "messages": [{"role": "user", "content": text}]}


_FRAMEWORK_SYSTEMS = (
    "You are an assistant inside our workspace app. Tools are available if useful.",
    "You can call tools, but only when the request needs live data or an action.",
    "You are the company copilot. Answer directly when you can; use tools only when necessary.",
)


def attach_tools(request: dict[str, Any], rng: random.Random, pool: tuple[ToolSpec, ...]) -> dict[str, Any]:
    """The same request as sent by an agent framework that always attaches its tools."""
    out = copy.deepcopy(request)
    out["tools"] = [tool_schema(s) for s in rng.sample(pool, min(len(pool), rng.randint(1, 4)))]
    has_system = any(m.get("role") == "system" for m in out["messages"])
    if not has_system and rng.random() < 0.4:
        system = rng.choice(_FRAMEWORK_SYSTEMS + GENERIC_SYSTEMS)
        out["messages"].insert(0, {"role": "system", "content": system})
    return out


_TRANSITIONS = (
    "Thanks! Now a different request: ",
    "Alright, moving on. ",
    "OK, new task. ",
    "Switching topics: ",
    "Great, thanks. ",
    "Perfect. One more thing: ",
    "Nice. Next: ",
    "Lol ok. ",
    "Thanks. Another one: ",
    "Understood. ",
)
_REPLIES = (
    "Sure, here you go.",
    "Here is what I found.",
    "Happy to help! Let me know if you need anything else.",
    "Done — see above.",
    "Of course. Here's my answer.",
)


def prepend_turns(request: dict[str, Any], rng: random.Random, openers: list[str]) -> dict[str, Any]:
    """The same final request arriving as a later turn of a chat about something else."""
    out = copy.deepcopy(request)
    history: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.5:
            ask, reply = rng.choice(CHATS)
        else:
            ask, reply = rng.choice(openers), rng.choice(_REPLIES)
        history.append({"role": "user", "content": ask})
        history.append({"role": "assistant", "content": reply})
    system = [m for m in out["messages"] if m.get("role") == "system"]
    rest = [m for m in out["messages"] if m.get("role") != "system"]
    if rest and rng.random() < 0.45 and isinstance(rest[-1].get("content"), str):
        # People signal a change of subject: "Thanks! Different question: ..."
        rest[-1] = {**rest[-1], "content": rng.choice(_TRANSITIONS) + rest[-1]["content"]}
    out["messages"] = system + history + rest
    return out
