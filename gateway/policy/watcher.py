"""Hot reload: a changed policy that validates replaces the running one; an invalid one is refused."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from gateway.catalogue import CatalogueError, load_catalogue
from gateway.policy.load import PolicyError, load_policy

log = logging.getLogger("gateway.policy")
WATCHED = ("models.yaml", "routing.yaml")


def _fingerprint(directory: Path) -> tuple:
    stamps = []
    for name in WATCHED:
        try:
            stat = (directory / name).stat()
            stamps.append((name, stat.st_mtime_ns, stat.st_size))
        except OSError:  # missing or unreadable: the reload that follows reports why
            stamps.append((name, None, None))
    return tuple(stamps)


class PolicyWatcher:
    """Polls the policy files and swaps catalogue + policy atomically when a valid change lands."""

    def __init__(self, ctx, interval_s: float = 1.0, on_reload: Callable[[bool], None] | None = None) -> None:
        self._ctx = ctx
        self._interval_s = interval_s
        self._on_reload = on_reload or (lambda ok: None)
        self._seen = _fingerprint(Path(ctx.settings.policies_dir))
        self._task: asyncio.Task | None = None

    def reload_now(self) -> bool:
        """Load and validate the files; install them if valid. Returns whether they were installed."""
        settings = self._ctx.settings
        try:
            catalogue = load_catalogue(settings.policies_dir, settings.baseline_model)
            if settings.simulate:
                catalogue = catalogue.simulated()
            policy = load_policy(settings.policies_dir, catalogue)
        except (PolicyError, CatalogueError) as exc:
            log.error("policy change refused, keeping the running policy:\n%s", exc)
            self._report(False)
            return False
        except Exception:  # a loader bug must not end hot reload, nor replace a good policy
            log.exception("policy change refused (unexpected error while loading), keeping the running policy")
            self._report(False)
            return False
        # Two attribute writes with no await between them: no request sees a mixed pair.
        self._ctx.catalogue, self._ctx.policy = catalogue, policy
        log.info("policy reloaded from %s", settings.policies_dir)
        self._report(True)
        return True

    def _report(self, ok: bool) -> None:
        try:
            self._on_reload(ok)
        except Exception:  # the metric is secondary to keeping the watcher alive
            log.exception("policy reload callback failed")

    async def check(self) -> bool | None:
        """Reload if the files changed since the last look; None when nothing changed."""
        current = _fingerprint(Path(self._ctx.settings.policies_dir))
        if current == self._seen:
            return None
        self._seen = current
        return self.reload_now()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.check()
            except Exception:  # keep polling: the next change may well be valid
                log.exception("policy watcher check failed; still watching")

    def start(self) -> None:
        """Start polling in the background."""
        self._task = asyncio.create_task(self._run(), name="policy-watcher")

    async def stop(self) -> None:
        """Stop polling."""
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
