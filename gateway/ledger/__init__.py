"""The spend ledger: schema and migrations, the batched durable writer, reports, keys and budgets."""

from gateway.ledger.engine import async_url, create_engine
from gateway.ledger.keys import (
    BudgetRow,
    KeyRow,
    TeamRow,
    create_key,
    hash_key,
    key_by_hash,
    load_budgets,
    load_keys,
    load_teams,
    revoke_key,
    set_budget,
    spend_since,
    spends_since,
    upsert_team,
)
from gateway.ledger.migrate import (
    UPGRADE_COMMAND,
    LedgerOutOfDate,
    LedgerSchemaError,
    check_up_to_date,
    current_revision,
    downgrade,
    upgrade,
)
from gateway.ledger.report import SpendRow, parse_since, spend_report
from gateway.ledger.writer import LedgerWriter, WriterStats

__all__ = [
    "BudgetRow", "KeyRow", "LedgerOutOfDate", "LedgerSchemaError", "LedgerWriter", "SpendRow", "TeamRow",
    "UPGRADE_COMMAND", "WriterStats", "async_url", "check_up_to_date", "create_engine", "create_key",
    "current_revision", "downgrade", "hash_key", "key_by_hash", "load_budgets", "load_keys", "load_teams",
    "parse_since", "revoke_key", "set_budget", "spend_report", "spend_since", "spends_since", "upgrade", "upsert_team",
]
