"""Price catalogue entries and the cost of a `Usage`; pure, no I/O.

Prices are per 1M tokens. A deployment carries a list of entries, each with an effective
time: a price change is a new entry, never an edit, so old ledger rows stay explainable.
An entry may carry context-length tiers (higher rates above N prompt tokens) and an off-peak
multiplier applied outside its UTC peak windows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from gateway.usage import Usage

PER_TOKEN = Decimal(1) / Decimal(1_000_000)
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per 1M tokens for each usage bucket."""

    input: Decimal
    cached_input: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal
    output: Decimal

    def scaled(self, factor: Decimal) -> Rates:
        """These rates multiplied by `factor` (off-peak discounts)."""
        return Rates(*(getattr(self, name) * factor for name in self.__slots__))


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A recurring UTC window: the weekdays it opens on (0 = Monday) and [start, end) minutes of the day.

    A window whose end is before its start crosses midnight: "22:00-02:00" on Friday runs from Friday
    22:00 to Saturday 02:00.
    """

    days: frozenset[int]
    start_minute: int
    end_minute: int

    def contains(self, at: datetime) -> bool:
        """Whether `at` falls in this window (a naive time is taken as UTC)."""
        if at.tzinfo is not None:
            at = at.astimezone(UTC)
        minute, day = at.hour * 60 + at.minute, at.weekday()
        if self.start_minute < self.end_minute:
            return day in self.days and self.start_minute <= minute < self.end_minute
        return (day in self.days and minute >= self.start_minute) or \
            ((day - 1) % 7 in self.days and minute < self.end_minute)


@dataclass(frozen=True, slots=True)
class Tier:
    """Rates that replace the base rates when the prompt exceeds a token count."""

    above_prompt_tokens: int
    rates: Rates


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """One dated price of a deployment, with its provenance."""

    effective: datetime
    rates: Rates
    source: str
    tiers: tuple[Tier, ...] = ()
    peak_windows: tuple[TimeWindow, ...] = ()
    off_peak_multiplier: Decimal | None = None

    # The off-peak rates (base and per tier) are scaled once here, not per request.
    _off_peak: tuple[Rates, tuple[Rates, ...]] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        factor = self.off_peak_multiplier
        if factor is not None:
            scaled = (self.rates.scaled(factor), tuple(tier.rates.scaled(factor) for tier in self.tiers))
            object.__setattr__(self, "_off_peak", scaled)

    def rates_for(self, at: datetime, prompt_tokens: int) -> Rates:
        """The rates that apply at `at` for a prompt of `prompt_tokens` tokens."""
        off_peak = self._off_peak
        if off_peak is not None and any(w.contains(at) for w in self.peak_windows):
            off_peak = None
        rates = self.rates if off_peak is None else off_peak[0]
        for i, tier in enumerate(self.tiers):  # tiers are sorted ascending; the highest one exceeded wins
            if prompt_tokens > tier.above_prompt_tokens:
                rates = tier.rates if off_peak is None else off_peak[1][i]
        return rates


@dataclass(frozen=True, slots=True)
class Cost:
    """What a request cost and what the same usage would have cost on the baseline model."""

    usd: Decimal
    baseline_usd: Decimal
    cache_savings_usd: Decimal = Decimal(0)

    @property
    def saved_usd(self) -> Decimal:
        """Baseline minus actual (negative when the route cost more than the baseline)."""
        return self.baseline_usd - self.usd


def entry_at(entries: Sequence[PriceEntry], at: datetime) -> PriceEntry:
    """The entry in force at `at`: the latest effective one; the earliest if `at` predates all."""
    chosen = entries[0]
    for entry in entries:
        if entry.effective <= at:
            chosen = entry
    return chosen


def _priced(usage: Usage, rates: Rates) -> Decimal:
    write_1h = min(usage.cache_write_1h, usage.cache_write)
    total = (
        usage.input * rates.input
        + usage.cached_input * rates.cached_input
        + (usage.cache_write - write_1h) * rates.cache_write
        + write_1h * rates.cache_write_1h
        + usage.output * rates.output
    )
    return total * PER_TOKEN


def cost_of(usage: Usage, entries: Sequence[PriceEntry], at: datetime) -> Decimal:
    """USD cost of `usage` under the price entries of one deployment at time `at`."""
    return _priced(usage, entry_at(entries, at).rates_for(at, usage.prompt_tokens))


def prompt_and_answer_cost(prices: Sequence[PriceEntry], prompt_tokens: int, output_tokens: int,
                           at: datetime) -> Decimal:
    """cost_of(Usage(input=prompt_tokens, output=output_tokens), prices, at), the same Decimal without
    the empty cache buckets: the policy prices every candidate of every request this way."""
    rates = entry_at(prices, at).rates_for(at, prompt_tokens)
    return (prompt_tokens * rates.input + output_tokens * rates.output) * PER_TOKEN


def cost(usage: Usage, deployment: Any, at: datetime | None = None) -> Decimal:
    """USD cost of `usage` on `deployment` (anything with a `prices` sequence) at `at` (now)."""
    return cost_of(usage, deployment.prices, at or datetime.now(UTC))


def request_cost(usage: Usage, deployment: Any, baseline: Any, at: datetime | None = None) -> Cost:
    """Actual cost plus the counterfactual cost of the same usage on the baseline deployment."""
    at = at or datetime.now(UTC)
    rates = entry_at(deployment.prices, at).rates_for(at, usage.prompt_tokens)
    return Cost(
        _priced(usage, rates),
        cost_of(usage, baseline.prices, at),
        usage.cached_input * (rates.input - rates.cached_input) * PER_TOKEN,
    )


# ---- parsing catalogue entries -------------------------------------------------------------
#
# These take mappings already shaped by gateway/catalogue_schema.py (types are checked there) and
# check what a schema cannot: required prices, signs, dates and windows. Errors carry the YAML
# path of the offending value so the catalogue can point at its line.

Path = tuple[Any, ...]


class PriceError(ValueError):
    """A price entry is invalid at `path` (a YAML key path)."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _decimal(raw: Mapping[str, Any], key: str, path: Path) -> Decimal | None:
    value = raw.get(key)
    if value is None:
        return None
    number = Decimal(str(value))  # through str: 0.17 in YAML is exactly 0.17, not the nearest float
    if number < 0:
        raise PriceError((*path, key), f"a price cannot be negative ({value})")
    return number


def parse_rates(raw: Mapping[str, Any], path: Path, inherit: Rates | None = None) -> Rates:
    """Rates from a YAML mapping; missing cache prices are derived conservatively.

    A missing cached-input price is taken as the full input price (no discount assumed, so
    savings are never overstated); missing cache-write prices follow the common 1.25x
    (5-minute) and 2x (1-hour) of input.
    """
    values = {name: _decimal(raw, name, path) for name in Rates.__slots__}
    base = values["input"] if values["input"] is not None else (inherit.input if inherit else None)
    output = values["output"] if values["output"] is not None else (inherit.output if inherit else None)
    if base is None or output is None:
        raise PriceError(path, "'input' and 'output' prices are required")
    cached = values["cached_input"]
    if cached is None:
        cached = inherit.cached_input if inherit else base
    return Rates(
        input=base,
        cached_input=cached,
        cache_write=values["cache_write"] if values["cache_write"] is not None else base * Decimal("1.25"),
        cache_write_1h=values["cache_write_1h"] if values["cache_write_1h"] is not None else base * 2,
        output=output,
    )


def _parse_days(spec: str, path: Path) -> frozenset[int]:
    text = spec.strip().lower()
    if text in {"all", "daily", "every day"}:
        return frozenset(range(7))
    if text == "weekdays":
        return frozenset(range(5))
    days: set[int] = set()
    for part in text.split(","):  # days and ranges: "mon-fri,sun"; "fri-mon" wraps over the weekend
        first, _, last = (name.strip()[:3] for name in part.partition("-"))
        if first not in _DAY_NAMES or (last and last not in _DAY_NAMES):
            raise PriceError((*path, "days"), f"cannot read {spec!r} (use e.g. 'mon-fri', 'sat,sun', 'mon-fri,sun', "
                                              "'all')")
        start = _DAY_NAMES.index(first)
        end = _DAY_NAMES.index(last) if last else start
        days.update(day % 7 for day in range(start, end + 1 + (7 if end < start else 0)))
    return frozenset(days)


def _parse_minute(text: str, path: Path) -> int:
    try:
        hours, minutes = text.strip().split(":")
        value = int(hours) * 60 + int(minutes)
    except ValueError:
        raise PriceError((*path, "hours"), f"expected 'HH:MM-HH:MM', got {text!r}") from None
    if not 0 <= value <= 24 * 60:
        raise PriceError((*path, "hours"), f"{text!r} is not a time of day")
    return value


def _parse_window(raw: Mapping[str, Any], path: Path) -> TimeWindow:
    hours = raw["hours"]
    if "-" not in hours:
        raise PriceError((*path, "hours"), f"expected 'HH:MM-HH:MM', got {hours!r}")
    start, end = hours.split("-", 1)
    days = _parse_days(raw.get("days", "all"), path)
    start_minute, end_minute = _parse_minute(start, path), _parse_minute(end, path)
    if start_minute == end_minute or start_minute == 24 * 60:
        raise PriceError((*path, "hours"), f"{hours!r} is an empty window (a whole day is '00:00-24:00'; "
                                           "one crossing midnight is e.g. '22:00-02:00')")
    return TimeWindow(days, start_minute, end_minute)


def _parse_effective(value: Any, path: Path) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise PriceError((*path, "effective"), f"expected a date like 2026-08-16, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_price_entry(raw: Mapping[str, Any], path: Path) -> PriceEntry:
    """One price entry from its (schema-checked) mapping; `path` locates it in the YAML."""
    if not raw["source"]:
        raise PriceError(path, "'source' (where the price comes from) is required")
    rates = parse_rates(raw, path)
    tiers = tuple(
        sorted(
            (
                Tier(tier["above_prompt_tokens"], parse_rates(tier, (*path, "tiers", i), inherit=rates))
                for i, tier in enumerate(raw.get("tiers") or ())
            ),
            key=lambda tier: tier.above_prompt_tokens,
        )
    )
    off_peak = raw.get("off_peak")
    windows: tuple[TimeWindow, ...] = ()
    multiplier = None
    if off_peak:
        multiplier = _decimal(off_peak, "multiplier", (*path, "off_peak"))
        windows = tuple(
            _parse_window(w, (*path, "off_peak", "peak_utc", i)) for i, w in enumerate(off_peak.get("peak_utc") or ())
        )
    return PriceEntry(
        effective=_parse_effective(raw["effective"], path),
        rates=rates,
        source=raw["source"],
        tiers=tiers,
        peak_windows=windows,
        off_peak_multiplier=multiplier,
    )
