"""The model catalogue (`policies/models.yaml`): models, their deployments, prices, aliases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from gateway.pricing import PriceEntry, parse_price_entries

PROVIDER_KINDS = frozenset({"openai_compat", "anthropic", "simulated"})


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


@dataclass(frozen=True, slots=True)
class Model:
    """A logical model clients can name, served by one or more deployments (in preference order)."""

    name: str
    description: str
    context_window: int
    deployments: tuple[Deployment, ...]


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
    """The catalogue file is invalid; the message names the offending entry."""


def _require(raw: Mapping[str, Any], key: str, where: str) -> Any:
    value = raw.get(key)
    if value in (None, ""):
        raise CatalogueError(f"{where}: '{key}' is required")
    return value


def derive_self_hosted_price(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A price entry for self-hosted serving, from the GPU-hour cost and measured throughput.

    USD per 1M tokens = (GPU-hour cost x GPUs) / (tokens per second x 3600) x 1M, separately for
    prefill (input) and decode (output); a prefix-cache hit skips prefill, so cached input is
    priced at `cached_fraction` of input (default 0.1).
    """
    try:
        hourly = float(raw["gpu_hour_usd"]) * float(raw.get("gpus", 1))
        input_tps = float(raw["input_tokens_per_s"])
        output_tps = float(raw["output_tokens_per_s"])
    except (KeyError, TypeError, ValueError):
        raise CatalogueError(f"{where}: needs gpu_hour_usd, input_tokens_per_s, output_tokens_per_s "
                             "(and optionally gpus, cached_fraction, effective)") from None
    if min(hourly, input_tps, output_tps) <= 0:
        raise CatalogueError(f"{where}: costs and throughputs must be positive")
    input_price = round(hourly / (input_tps * 3600) * 1e6, 6)
    output_price = round(hourly / (output_tps * 3600) * 1e6, 6)
    fraction = float(raw.get("cached_fraction", 0.1))
    return {
        "effective": raw.get("effective", "2026-01-01"),
        "input": input_price, "output": output_price, "cached_input": round(input_price * fraction, 6),
        "cache_write": input_price,
        "source": (f"derived: ${hourly:g}/h for the GPUs at {input_tps:g} prefill and {output_tps:g} decode "
                   f"tokens/s (measured with bench/worker.py); cached input at {fraction:g}x"),
    }


def _parse_deployment(raw: Mapping[str, Any], model: str, context_window: int, where: str) -> Deployment:
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{where}: expected a mapping")
    provider = _require(raw, "provider", where)
    if provider not in PROVIDER_KINDS:
        raise CatalogueError(f"{where}.provider: {provider!r} is not one of {sorted(PROVIDER_KINDS)}")
    try:
        raw_prices = list(raw.get("prices") or [])
        if raw.get("self_hosted_cost"):
            raw_prices.append(derive_self_hosted_price(raw["self_hosted_cost"], f"{where}.self_hosted_cost"))
        if not raw_prices:
            raise CatalogueError(f"{where}: 'prices' (or 'self_hosted_cost') is required")
        prices = parse_price_entries(raw_prices, f"{where}.prices")
    except ValueError as exc:
        raise CatalogueError(str(exc)) from None
    replicas = tuple(str(url).rstrip("/") for url in raw.get("replicas") or ())
    return Deployment(
        name=str(_require(raw, "name", where)),
        model=model,
        provider=provider,
        base_url=str(raw.get("base_url") or (replicas[0] if replicas else "")).rstrip("/"),
        upstream_model=str(raw.get("upstream_model") or model),
        api_key_env=raw.get("api_key_env"),
        region=str(raw.get("region", "unknown")),
        jurisdiction=str(raw.get("jurisdiction", "unknown")),
        operator=str(raw.get("operator", "unknown")),
        context_window=int(raw.get("context_window", context_window)),
        prices=prices,
        self_hosted=bool(raw.get("self_hosted", False)),
        key_required=bool(raw.get("key_required", provider != "simulated")),
        simulation=dict(raw.get("simulation") or {}),
        replicas=replicas,
    )


def parse_catalogue(raw: Mapping[str, Any]) -> Catalogue:
    """Build and validate a catalogue from the parsed YAML document."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("models"), Mapping):
        raise CatalogueError("models.yaml: a top-level 'models' mapping is required")
    models: dict[str, Model] = {}
    seen: set[str] = set()
    for name, body in raw["models"].items():
        where = f"models.{name}"
        if not isinstance(body, Mapping):
            raise CatalogueError(f"{where}: expected a mapping")
        context_window = int(_require(body, "context_window", where))
        deployments = tuple(
            _parse_deployment(d, name, context_window, f"{where}.deployments[{i}]")
            for i, d in enumerate(_require(body, "deployments", where))
        )
        for deployment in deployments:
            if deployment.name in seen:
                raise CatalogueError(f"{where}: deployment name {deployment.name!r} is used twice")
            seen.add(deployment.name)
            if deployment.provider != "simulated" and not deployment.base_url and not deployment.replicas:
                raise CatalogueError(f"{where}: deployment {deployment.name!r} needs a base_url")
        models[name] = Model(name, str(body.get("description", "")), context_window, deployments)
    aliases = {str(k): str(v) for k, v in (raw.get("aliases") or {}).items()}
    for alias, target in aliases.items():
        if target not in models:
            raise CatalogueError(f"aliases.{alias}: {target!r} is not a model in the catalogue")
        if alias in models:
            raise CatalogueError(f"aliases.{alias}: an alias cannot shadow a model name")
    baseline = str(raw.get("baseline_model", "claude-opus-4.7"))
    if baseline not in models:
        raise CatalogueError(f"baseline_model: {baseline!r} is not a model in the catalogue")
    return Catalogue(models=models, aliases=aliases, baseline_model=baseline)


def load_catalogue(policies_dir: Path, baseline_model: str | None = None) -> Catalogue:
    """Read `models.yaml` from the policies directory."""
    path = Path(policies_dir) / "models.yaml"
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise CatalogueError(f"{path}: not found (set GATEWAY_POLICIES_DIR to the policies directory)") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML: {exc}") from None
    if baseline_model:
        raw = {**raw, "baseline_model": baseline_model}
    return parse_catalogue(raw)
