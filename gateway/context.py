"""The per-app runtime context, kept on `app.state.ctx`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.breakers import CircuitBreakers
from gateway.catalogue import Catalogue
from gateway.classify_batch import ClassifyBatcher
from gateway.dispatch import Dispatcher
from gateway.policy import Policy
from gateway.providers.base import Provider
from gateway.providers.http import UpstreamClients
from gateway.providers.tool_turn_memory import ToolTurnMemory
from gateway.records import Recorder
from gateway.settings import Settings
from gateway.state import StateStore

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from gateway.budgets import BudgetGuard
    from gateway.keycache import KeyCache
    from gateway.ledger import LedgerWriter


@dataclass(slots=True)
class GatewayContext:
    """Everything a request handler needs, built once by `create_app`."""

    settings: Settings
    catalogue: Catalogue
    policy: Policy
    state: StateStore
    providers: Mapping[str, Provider]
    clients: UpstreamClients
    breakers: CircuitBreakers
    dispatcher: Dispatcher
    guard: BudgetGuard
    recorders: list[Recorder] = field(default_factory=list)
    engine: AsyncEngine | None = None
    writer: LedgerWriter | None = None
    keys: KeyCache | None = None
    classifier: ClassifyBatcher = field(default_factory=ClassifyBatcher)
    tool_turns: ToolTurnMemory = field(default_factory=ToolTurnMemory)
