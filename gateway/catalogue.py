"""The model catalogue (`policies/models.yaml`): models, their deployments, prices, aliases.

The file's shape is checked by gateway/catalogue_schema.py; every problem is reported as
`file:line: path: message` (CatalogueError.problems), like routing.yaml's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, get_args

from gateway.catalogue_schema import CatalogueSpec, DeploymentSpec, ModelSpec, Provider, SelfHostedCostSpec
from gateway.pricing import PriceEntry, PriceError, parse_price_entry
from gateway.strictschema import validate
from gateway.yamllines import Located, YamlFileError, read_with_lines, render

CATALOGUE_FILE = "models.yaml"
PROVIDER_KINDS = frozenset(get_args(Provider))
MESSAGES_PREFIX = "messages."  # a `drops` entry naming a field of each message
TOOL_CALLS_PREFIX = "messages.tool_calls."  # ... or of each tool call in them


@dataclass(frozen=True, slots=True)
class Deployment:
    """One place a model is served: provider kind, endpoint, key variable, prices."""

    name: str
    model: str
    provider: str
    base_url: str
    upstream_model: str
    api_key_env: str | None
    region: str
    jurisdiction: str
    operator: str
    context_window: int
    prices: tuple[PriceEntry, ...]
    self_hosted: bool = False
    key_required: bool = True
    simulation: Mapping[str, Any] = field(default_factory=dict)
    replicas: tuple[str, ...] = ()  # several base URLs of one self-hosted service (prefix affinity)
    # What the deployment's API takes of an OpenAI request (see providers/adapt.py): the name it reads for
    # the output cap (None: as the client sent it), whether it refuses sampling other than the default,
    # the fields it refuses ("field" or "field:kind") and those left out of what it is sent.
    max_tokens_param: str | None = None
    non_streaming_max_tokens: int | None = None  # the largest output cap it takes unless the request streams
    default_sampling_only: bool = False
    refuses: tuple[tuple[str, str], ...] = ()  # (field, kind or "")
    thinking_refuses: tuple[tuple[str, str], ...] = ()  # refused unless the request turns thinking off
    drops: frozenset[str] = frozenset()
    message_drops: frozenset[str] = frozenset()  # left out of every message
    tool_call_drops: frozenset[str] = frozenset()  # left out of every tool call in the messages
    developer_role: bool = True  # False: OpenAI's developer messages are sent as system messages
    tool_turn_reasoning: bool = False  # True: earlier tool-call turns are sent with their reasoning_content
    thought_signatures: bool = False  # True: earlier tool calls are sent with their thought signatures
    text_content: bool = False  # True: a message's all-text content parts are sent as one string
    inputs: frozenset[str] | None = None  # what its model's prompts may carry ("text", "image", ...; None: anything)

    @property
    def keeps_tool_turns(self) -> bool:
        """Whether its API wants something back of earlier tool calls (providers/tool_turn_memory.py)."""
        return self.tool_turn_reasoning or self.thought_signatures


@dataclass(frozen=True, slots=True)
class Model:
    """A logical model clients can name, served by one or more deployments (in preference order)."""

    name: str
    description: str
    context_window: int
    deployments: tuple[Deployment, ...]
    inputs: frozenset[str] | None = None  # what its prompts may carry ("text", "image", ...; None: anything)

    def takes(self, inputs: frozenset[str]) -> bool:
        """Whether its prompts may carry those kinds of input ("image", "audio", "file")."""
        return self.inputs is None or inputs <= self.inputs


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every model, deployment and alias the gateway knows."""

    models: Mapping[str, Model]
    aliases: Mapping[str, str]
    baseline_model: str

    def resolve(self, name: str) -> Model | None:
        """The model a client's `model` field names (directly or through an alias)."""
        return self.models.get(self.aliases.get(name, name))

    def deployment(self, name: str) -> Deployment | None:
        """A deployment by its unique name."""
        for model in self.models.values():
            for deployment in model.deployments:
                if deployment.name == name:
                    return deployment
        return None

    def baseline(self) -> Deployment:
        """The deployment whose prices define the counterfactual baseline cost."""
        return self.models[self.baseline_model].deployments[0]

    def simulated(self) -> Catalogue:
        """The same catalogue with every deployment served by the offline simulated provider."""
        models = {
            name: replace(
                model,
                deployments=tuple(replace(d, provider="simulated", key_required=False) for d in model.deployments),
            )
            for name, model in self.models.items()
        }
        return replace(self, models=models)


class CatalogueError(ValueError):
    """The catalogue file is invalid; `problems` lists every finding as 'file:line: path: message'."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


def _self_hosted_price(spec: SelfHostedCostSpec) -> dict[str, Any]:
    hourly = float(spec.gpu_hour_usd) * float(spec.gpus)
    input_tps, output_tps = float(spec.input_tokens_per_s), float(spec.output_tokens_per_s)
    input_price = round(hourly / (input_tps * 3600) * 1e6, 6)
    output_price = round(hourly / (output_tps * 3600) * 1e6, 6)
    fraction = float(spec.cached_fraction)
    return {
        "effective": spec.effective,
        "input": input_price, "output": output_price, "cached_input": round(input_price * fraction, 6),
        "cache_write": input_price,
        "source": (f"derived: ${hourly:g}/h for the GPUs at {input_tps:g} prefill and {output_tps:g} decode "
                   f"tokens/s (measured with bench/worker.py); cached input at {fraction:g}x"),
    }


def derive_self_hosted_price(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A price entry for self-hosted serving, from the GPU-hour cost and measured throughput.

    USD per 1M tokens = (GPU-hour cost x GPUs) / (tokens per second x 3600) x 1M, separately for
    prefill (input) and decode (output); a prefix-cache hit skips prefill, so cached input is
    priced at `cached_fraction` of input (default 0.1). `where` names `raw` in error messages.
    """
    spec = validate(SelfHostedCostSpec, raw)
    if not isinstance(spec, SelfHostedCostSpec):
        raise CatalogueError([f"{where}{'.' + render(path, brackets=True) if path else ''}: {message}"
                              for path, message in spec])
    return _self_hosted_price(spec)


def _urls(spec: DeploymentSpec, path: tuple, check: Located) -> None:
    urls = [((*path, "base_url"), spec.base_url), *(((*path, "replicas", i), u) for i, u in enumerate(spec.replicas))]
    for where, url in urls:
        if url and not url.startswith(("http://", "https://")):
            check.add(where, f"must be an http:// or https:// URL, got {url!r}")


def _deployment(spec: DeploymentSpec, model: ModelSpec, name: str, path: tuple, check: Located) -> Deployment:
    raw_prices = [((*path, "prices", i), price.model_dump()) for i, price in enumerate(spec.prices)]
    if spec.self_hosted_cost is not None:
        raw_prices.append(((*path, "self_hosted_cost"), _self_hosted_price(spec.self_hosted_cost)))
    if not raw_prices:
        check.add(path, "'prices' (or 'self_hosted_cost') is required")
    entries = []
    for where, raw in raw_prices:
        try:
            entries.append(parse_price_entry(raw, where))
        except PriceError as exc:
            check.add(exc.path, exc.message)
    _urls(spec, path, check)
    replicas = tuple(url.rstrip("/") for url in spec.replicas)
    base_url = (spec.base_url or (replicas[0] if replicas else "")).rstrip("/")
    if spec.provider != "simulated" and not base_url:
        check.add(path, f"deployment {spec.name!r} needs a base_url (or replicas)")
    return Deployment(
        name=spec.name,
        model=name,
        provider=spec.provider,
        base_url=base_url,
        upstream_model=spec.upstream_model or name,
        api_key_env=spec.api_key_env,
        region=spec.region,
        jurisdiction=spec.jurisdiction,
        operator=spec.operator,
        context_window=spec.context_window or model.context_window,
        prices=tuple(sorted(entries, key=lambda entry: entry.effective)),
        self_hosted=spec.self_hosted,
        key_required=spec.key_required if spec.key_required is not None else spec.provider != "simulated",
        simulation=spec.simulation.model_dump(exclude_unset=True),
        replicas=replicas,
        max_tokens_param=spec.max_tokens_param,
        non_streaming_max_tokens=spec.non_streaming_max_tokens,
        default_sampling_only=spec.default_sampling_only,
        refuses=_field_kinds(spec.refuses),
        thinking_refuses=_field_kinds(spec.thinking_refuses),
        drops=_dropped(spec.drops, ""),
        message_drops=_dropped(spec.drops, MESSAGES_PREFIX),
        tool_call_drops=_dropped(spec.drops, TOOL_CALLS_PREFIX),
        developer_role=spec.developer_role,
        tool_turn_reasoning=spec.tool_turn_reasoning,
        thought_signatures=spec.thought_signatures,
        text_content=spec.text_content,
        inputs=frozenset(model.inputs) if model.inputs is not None else None,
    )


def _field_kinds(entries: list[str]) -> tuple[tuple[str, str], ...]:
    """`refuses` entries ("field" or "field:kind") as (field, kind or "")."""
    return tuple((name, kind) for name, _, kind in (entry.partition(":") for entry in entries))


def _dropped(entries: list[str], prefix: str) -> frozenset[str]:
    """The `drops` entries at one depth: the request's own fields (prefix ""), a message's, or a tool call's."""
    return frozenset(entry.removeprefix(prefix) for entry in entries
                     if entry.startswith(prefix) and "." not in entry.removeprefix(prefix))


def parse_catalogue(raw: Any, lines: dict | None = None, filename: str = CATALOGUE_FILE,
                    baseline_model: str | None = None) -> Catalogue:
    """Build a Catalogue from parsed YAML (`lines` from yamllines), or raise CatalogueError listing
    every problem. `baseline_model` overrides the file's (GATEWAY_BASELINE_MODEL)."""
    check = Located(filename, lines or {}, brackets=True)
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{filename}:1: (document): expected a mapping with 'models'")
    spec = validate(CatalogueSpec, raw)
    if not isinstance(spec, CatalogueSpec):
        for path, message in spec:
            check.add(path, message)
        raise CatalogueError(check.problems)
    models: dict[str, Model] = {}
    first_use: dict[str, tuple] = {}
    for name, body in spec.models.items():
        path = ("models", name)
        if not body.deployments:
            check.add((*path, "deployments"), "list at least one deployment")
        deployments = []
        for i, deployment_spec in enumerate(body.deployments):
            where = (*path, "deployments", i)
            deployment = _deployment(deployment_spec, body, name, where, check)
            if deployment.name in first_use:
                check.add((*where, "name"), f"deployment name {deployment.name!r} is used twice (first at "
                                            f"{render(first_use[deployment.name], brackets=True)})")
            first_use.setdefault(deployment.name, where)
            deployments.append(deployment)
        models[name] = Model(name, body.description, body.context_window, tuple(deployments),
                             frozenset(body.inputs) if body.inputs is not None else None)
    for alias, target in spec.aliases.items():
        if target not in models:
            check.add(("aliases", alias), f"{target!r} is not a model in the catalogue")
        if alias in models:
            check.add(("aliases", alias), "an alias cannot shadow a model name")
    baseline = baseline_model or spec.baseline_model
    if baseline not in models:
        if baseline_model:
            check.problems.append(f"{filename}: baseline_model override {baseline!r} (GATEWAY_BASELINE_MODEL) "
                                  "is not a model in the catalogue")
        else:
            check.add(("baseline_model",), f"{baseline!r} is not a model in the catalogue")
    if check.problems:
        raise CatalogueError(check.problems)
    return Catalogue(models=models, aliases=dict(spec.aliases), baseline_model=baseline)


def load_catalogue(policies_dir: Path, baseline_model: str | None = None) -> Catalogue:
    """Read and validate `models.yaml` from the policies directory."""
    path = Path(policies_dir) / CATALOGUE_FILE
    try:
        raw, lines = read_with_lines(path, brackets=True)
    except YamlFileError as exc:
        raise CatalogueError(exc.problems) from None
    return parse_catalogue(raw, lines, str(path), baseline_model)
