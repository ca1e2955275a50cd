"""Environment configuration: every GATEWAY_* variable is read here and nowhere else."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_DATABASE_URL = "sqlite:///./var/gateway.db"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _optional(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


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
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the environment (GATEWAY_* variables)."""
        env = os.environ if env is None else env
        return cls(
            policies_dir=Path(env.get("GATEWAY_POLICIES_DIR", "policies")),
            database_url=env.get("GATEWAY_DATABASE_URL", DEFAULT_DATABASE_URL),
            redis_url=_optional(env.get("GATEWAY_REDIS_URL")),
            master_key=_optional(env.get("GATEWAY_MASTER_KEY")),
            admin_key=_optional(env.get("GATEWAY_ADMIN_KEY")),
            max_body_bytes=int(env.get("GATEWAY_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
            baseline_model=_optional(env.get("GATEWAY_BASELINE_MODEL")),
            simulate=_flag(env.get("GATEWAY_SIMULATE")),
            connect_timeout_s=float(env.get("GATEWAY_CONNECT_TIMEOUT_S", 10.0)),
            read_timeout_s=float(env.get("GATEWAY_READ_TIMEOUT_S", 120.0)),
            total_timeout_s=float(env.get("GATEWAY_TOTAL_TIMEOUT_S", 600.0)),
            log_level=env.get("GATEWAY_LOG_LEVEL", "info"),
            policy_poll_s=float(env.get("GATEWAY_POLICY_POLL_S", 1.0)),
            retries=int(env.get("GATEWAY_RETRIES", 2)),
            retry_base_s=float(env.get("GATEWAY_RETRY_BASE_S", 0.25)),
            retry_max_s=float(env.get("GATEWAY_RETRY_MAX_S", 2.0)),
            breaker_failures=int(env.get("GATEWAY_BREAKER_FAILURES", 5)),
            breaker_cooldown_s=float(env.get("GATEWAY_BREAKER_COOLDOWN_S", 30.0)),
            ledger=env.get("GATEWAY_LEDGER", "on").strip().lower() not in {"0", "off", "false", "no"},
            spool_dir=Path(env.get("GATEWAY_SPOOL_DIR", "var/spool")),
            redis_fail_open=env.get("GATEWAY_REDIS_FAIL", "open").strip().lower() != "closed",
            key_refresh_s=float(env.get("GATEWAY_KEY_REFRESH_S", 5.0)),
            gc_threshold=int(env.get("GATEWAY_GC_THRESHOLD", 20_000)),
            extra_env=dict(env),
        )

    def secret(self, env_name: str | None) -> str | None:
        """The value of an upstream key variable, or None when unset."""
        if not env_name:
            return None
        return _optional(self.extra_env.get(env_name))
