"""Label values kept to bounded sets, so no caller can make a metric's series count grow without end."""

from __future__ import annotations

import threading
from collections.abc import Iterable

OTHER = "other"
NONE = "none"


class LabelGuard:
    """Admits at most `limit` distinct values for one label; later newcomers are reported as "other".

    Model, deployment and category names come from the catalogue and the policy, so the cap is
    never reached in normal operation: it is the backstop for a bug or a hostile client that
    would otherwise mint a series per request.
    """

    def __init__(self, limit: int, allowed: Iterable[str] | None = None) -> None:
        self.limit = limit
        self.allowed = frozenset(allowed) if allowed is not None else None
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: object) -> str:
        """The label value to use for `value` (None → "none")."""
        if value is None or value == "":
            return NONE
        text = str(value)
        if self.allowed is not None:
            return text if text in self.allowed else OTHER
        if text in self._seen:
            return text
        with self._lock:
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(text)
        return text


def status_label(status: int) -> str:
    """An HTTP status code as a label ("200", "429", "502"; anything out of range is "other")."""
    return str(status) if 100 <= status <= 599 else OTHER


def flag_label(value: bool) -> str:
    """A boolean as a label value."""
    return "true" if value else "false"
