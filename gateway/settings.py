"""Environment configuration: every GATEWAY_* variable is read here and nowhere else."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_DATABASE_URL = "sqlite:///./var/gateway.db"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A GATEWAY_* variable holds a value the gateway cannot use; the message names it."""


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise SettingsError(f"{name} must be one of 1/true/yes/on or 0/false/no/off, got {raw!r}")


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or "").strip().lower() or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {env.get(name)!r}")
    return value


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float, integer: bool = False,
            above: bool = False) -> float:
    """A number from the environment (`above`: strictly greater than `minimum`); unset or blank: `default`."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value: float | None = int(raw) if integer else float(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or (value <= minimum if above else value < minimum):
        kind = "an integer" if integer else "a number"
        bound = f"greater than {minimum:g}" if above else f"of at least {minimum:g}"
        raise SettingsError(f"{name} must be {kind} {bound}, got {raw!r}")
    return value


def _integer(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    return int(_number(env, name, default, minimum=minimum, integer=True))


def _seconds(env: Mapping[str, str], name: str, default: float, *, zero_ok: bool = False) -> float:
    return _number(env, name, default, minimum=0.0, above=not zero_ok)


def _optional(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of browser origins (`https://app.example.com`), or `*` for any."""
    origins = tuple(part.strip().rstrip("/") for part in (env.get(name) or "").split(",") if part.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise SettingsError(f"{name} must list origins such as https://app.example.com (or *), got {origin!r}")
    return origins


@dataclass(frozen=True)
class Settings:
    """All gateway settings; build with `Settings.from_env()` or directly in tests."""

    policies_dir: Path = Path("policies")
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    master_key: str | None = None
    admin_key: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    baseline_model: str | None = None
    simulate: bool = False
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0
    total_timeout_s: float = 600.0
    log_level: str = "info"
    policy_poll_s: float = 1.0
    retries: int = 2
    retry_base_s: float = 0.25
    retry_max_s: float = 2.0
    breaker_failures: int = 5
    breaker_cooldown_s: float = 30.0
    ledger: bool = True
    spool_dir: Path = Path("var/spool")
    redis_fail_open: bool = True
    key_refresh_s: float = 5.0
    gc_threshold: int = 20_000
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call the API (CORS); empty: none
    shutdown_grace_s: float = 8.0
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the environment (GATEWAY_* variables); SettingsError names a bad one."""
        env = os.environ if env is None else env
        return cls(
            policies_dir=Path(_optional(env.get("GATEWAY_POLICIES_DIR")) or "policies"),
            database_url=_optional(env.get("GATEWAY_DATABASE_URL")) or DEFAULT_DATABASE_URL,
            redis_url=_optional(env.get("GATEWAY_REDIS_URL")),
            master_key=_optional(env.get("GATEWAY_MASTER_KEY")),
            admin_key=_optional(env.get("GATEWAY_ADMIN_KEY")),
            max_body_bytes=_integer(env, "GATEWAY_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, minimum=1),
            baseline_model=_optional(env.get("GATEWAY_BASELINE_MODEL")),
            simulate=_flag(env, "GATEWAY_SIMULATE", False),
            connect_timeout_s=_seconds(env, "GATEWAY_CONNECT_TIMEOUT_S", 10.0),
            read_timeout_s=_seconds(env, "GATEWAY_READ_TIMEOUT_S", 120.0),
            total_timeout_s=_seconds(env, "GATEWAY_TOTAL_TIMEOUT_S", 600.0),
            log_level=_choice(env, "GATEWAY_LOG_LEVEL", "info", LOG_LEVELS),
            policy_poll_s=_seconds(env, "GATEWAY_POLICY_POLL_S", 1.0),
            retries=_integer(env, "GATEWAY_RETRIES", 2, minimum=0),
            retry_base_s=_seconds(env, "GATEWAY_RETRY_BASE_S", 0.25, zero_ok=True),
            retry_max_s=_seconds(env, "GATEWAY_RETRY_MAX_S", 2.0, zero_ok=True),
            breaker_failures=_integer(env, "GATEWAY_BREAKER_FAILURES", 5, minimum=1),
            breaker_cooldown_s=_seconds(env, "GATEWAY_BREAKER_COOLDOWN_S", 30.0, zero_ok=True),
            ledger=_flag(env, "GATEWAY_LEDGER", True),
            spool_dir=Path(_optional(env.get("GATEWAY_SPOOL_DIR")) or "var/spool"),
            redis_fail_open=_choice(env, "GATEWAY_REDIS_FAIL", "open", ("open", "closed")) == "open",
            key_refresh_s=_seconds(env, "GATEWAY_KEY_REFRESH_S", 5.0),
            gc_threshold=_integer(env, "GATEWAY_GC_THRESHOLD", 20_000, minimum=0),
            shutdown_grace_s=_seconds(env, "GATEWAY_SHUTDOWN_GRACE_S", 8.0, zero_ok=True),
            cors_origins=_origins(env, "GATEWAY_CORS_ORIGINS"),
            extra_env=dict(env),
        )

    def secret(self, env_name: str | None) -> str | None:
        """The value of an upstream key variable, or None when unset."""
        if not env_name:
            return None
        return _optional(self.extra_env.get(env_name))
