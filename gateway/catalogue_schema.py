"""The shape of models.yaml as strict pydantic models (gateway/strictschema.py): types and ranges only.

Semantics (URLs, unique deployment names, aliases, price dates, off-peak windows) live in
catalogue.py and pricing.py, which also build the runtime dataclasses from these specs.
Numbers keep their YAML type (an int stays an int) so prices become exactly the same Decimals.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PlainValidator, StringConstraints
from pydantic_core import PydanticCustomError

from gateway.strictschema import Strict

Provider = Literal["openai_compat", "anthropic", "simulated"]
# What a prompt may carry (wire.INPUT_PARTS: the content part types of each kind besides text).
InputKind = Literal["text", "image", "audio", "file"]


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PydanticCustomError("number_type", "must be a number (unquoted; not true/false)")
    return value


def _at_least(low: float, inclusive: bool = True, high: float | None = None) -> AfterValidator:
    def check(value: int | float) -> int | float:
        if value < low or (not inclusive and value == low):
            raise PydanticCustomError("number_range", f"must be {'at least' if inclusive else 'greater than'} {low}")
        if high is not None and value > high:
            raise PydanticCustomError("number_range", f"must be at most {high}")
        return value
    return AfterValidator(check)


def _date_or_text(value: Any) -> date | str:
    # A date or datetime (unquoted in YAML), or ISO text; pricing.py parses the text.
    if not isinstance(value, date | str):
        raise PydanticCustomError("date_type", "must be a date like 2026-08-16")
    return value


Number = Annotated[int | float, PlainValidator(_number)]
Positive = Annotated[Number, _at_least(0, inclusive=False)]
NonNegative = Annotated[Number, _at_least(0)]
Fraction = Annotated[Number, _at_least(0, high=1)]
Effective = Annotated[date | str, PlainValidator(_date_or_text)]


class RatesSpec(Strict):
    """USD per 1M tokens; unset ones are derived (pricing.parse_rates)."""

    input: Number | None = None
    cached_input: Number | None = None
    cache_write: Number | None = None
    cache_write_1h: Number | None = None
    output: Number | None = None


class TierSpec(RatesSpec):
    """Rates above a prompt size; unset ones inherit the entry's."""

    above_prompt_tokens: int = Field(ge=0)
    source: str = ""


class PeakWindowSpec(Strict):
    """A UTC peak window: `days` (mon-fri, sat,sun, all) and `hours` (HH:MM-HH:MM)."""

    days: str = "all"
    hours: str


class OffPeakSpec(Strict):
    """A multiplier applied outside the peak windows."""

    multiplier: NonNegative
    peak_utc: list[PeakWindowSpec] = []


class PriceSpec(RatesSpec):
    """One dated price entry."""

    effective: Effective
    source: str
    tiers: list[TierSpec] = []
    off_peak: OffPeakSpec | None = None


class SelfHostedCostSpec(Strict):
    """What the GPUs cost and what they serve; a price entry is derived from it."""

    effective: Effective = "2026-01-01"
    gpu_hour_usd: Positive
    gpus: Positive = 1
    input_tokens_per_s: Positive
    output_tokens_per_s: Positive
    cached_fraction: Fraction = 0.1


class SimulationSpec(Strict):
    """Behaviour of the offline simulated provider (providers/simulated.py)."""

    failure_rate: Fraction = 0
    tool_call_validity: Fraction = 1.0
    latency_ms: NonNegative = 0
    ms_per_token: NonNegative = 0


class DeploymentSpec(Strict):
    """One place a model is served."""

    name: str = Field(min_length=1)
    provider: Provider
    base_url: str | None = None
    replicas: list[str] = []
    api_key_env: str | None = None
    key_required: bool | None = None  # unset: required unless the provider is simulated
    upstream_model: str | None = None
    operator: str = "unknown"
    region: str = "unknown"
    jurisdiction: str = "unknown"
    context_window: int | None = Field(None, gt=0)  # unset: the model's
    self_hosted: bool = False
    # What the deployment's API takes of an OpenAI request (providers/adapt.py):
    max_tokens_param: Literal["max_tokens", "max_completion_tokens"] | None = None  # its name for the output cap
    # the largest output cap it takes on a request that does not stream (unset: any)
    non_streaming_max_tokens: int | None = Field(None, gt=0)
    default_sampling_only: bool = False  # refuses a temperature / top_p other than 1, and any top_k
    refuses: list[Annotated[str, StringConstraints(pattern=r"^[a-z_]+(:[a-z_]+)?$")]] = []  # field or field:kind
    # as refuses, in thinking mode only: taken when the request sends thinking {"type": "disabled"}
    thinking_refuses: list[Annotated[str, StringConstraints(pattern=r"^[a-z_]+(:[a-z_]+)?$")]] = []
    # fields left out: OpenAI-only ones at the top, "messages.<field>" in every message, or
    # "messages.tool_calls.<field>" in every tool call of them
    drops: list[Annotated[str, StringConstraints(pattern=r"^(messages\.(tool_calls\.)?)?[a-z_]+$")]] = []
    developer_role: bool = True  # false: developer messages are sent as system messages
    tool_turn_reasoning: bool = False  # true: earlier tool-call turns go back with their reasoning_content
    thought_signatures: bool = False  # true: earlier tool calls go back with their thought signatures (Gemini 3)
    text_content: bool = False  # true: a message's content given as text parts only is sent as one string
    simulation: SimulationSpec = SimulationSpec()
    prices: list[PriceSpec] = []
    self_hosted_cost: SelfHostedCostSpec | None = None


class ModelSpec(Strict):
    """A logical model and its deployments in preference order."""

    description: str = ""
    context_window: int = Field(gt=0)
    inputs: list[InputKind] | None = None  # what its prompts may carry (unset: anything)
    deployments: list[DeploymentSpec]


class CatalogueSpec(Strict):
    """The whole models.yaml."""

    baseline_model: str = "claude-opus-4.7"
    aliases: dict[str, str] = {}
    models: dict[str, ModelSpec]
