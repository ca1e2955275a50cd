"""The durable local spool: append-only JSONL files that hold rows while the database is away.

Each writer appends to its own file and holds an exclusive `flock` on it while it is open, so
a live writer's file is never replayed under it; a crashed writer's lock dies with its process,
which is what makes its file claimable by the next writer on the same directory.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from gateway.ledger.rows import Row, decode_row, encode_row

log = logging.getLogger("gateway.ledger")

SPOOL_GLOB = "spool-*.jsonl"
MAX_FILE_BYTES = 64 * 1024 * 1024


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    # A new or removed file is durable only once its directory entry is.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(slots=True)
class ClaimedFile:
    """A spool file locked by this process for replay: its rows and any damaged lines."""

    path: Path
    fd: int
    rows: list[Row] = field(default_factory=list)
    damaged: list[bytes] = field(default_factory=list)


class Spool:
    """Append-only spool files in one directory, shared safely by several writer processes."""

    def __init__(self, directory: str | os.PathLike[str], max_file_bytes: int = MAX_FILE_BYTES) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._max_file_bytes = max_file_bytes
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._dirty = False
        self._pending: dict[Path, int] = {}  # rows known to sit in spool files, per file

    @property
    def rows(self) -> int:
        """Rows this process knows to be waiting in spool files."""
        with self._lock:
            return sum(self._pending.values())

    def bytes(self) -> int:
        """Bytes in all spool files of the directory (any process's)."""
        total = 0
        for path in self.directory.glob(SPOOL_GLOB):
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                continue
        return total

    def append(self, rows: Sequence[Row], *, sync: bool = True) -> None:
        """Append rows to this process's active file; with `sync`, fsync before returning."""
        if not rows:
            return
        data = b"".join(encode_row(row) + b"\n" for row in rows)
        with self._lock:
            if self._fd is not None and self._size + len(data) > self._max_file_bytes:
                self._seal_locked()
            if self._fd is None:
                self._open_locked()
            assert self._fd is not None and self._path is not None
            _write_all(self._fd, data)
            self._size += len(data)
            self._pending[self._path] = self._pending.get(self._path, 0) + len(rows)
            if sync:
                os.fsync(self._fd)
                self._dirty = False
            else:
                self._dirty = True

    def sync(self) -> None:
        """Fsync rows appended without `sync`."""
        with self._lock:
            if self._fd is not None and self._dirty:
                os.fsync(self._fd)
                self._dirty = False

    def seal(self) -> None:
        """Close the active file (fsync'd), making it claimable for replay."""
        with self._lock:
            self._seal_locked()

    def _open_locked(self) -> None:
        name = f"spool-{time.time_ns()}-{os.getpid()}-{secrets.token_hex(4)}.jsonl"
        path = self.directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _fsync_dir(self.directory)
        self._fd, self._path, self._size, self._dirty = fd, path, 0, False

    def _seal_locked(self) -> None:
        if self._fd is None:
            return
        os.fsync(self._fd)
        os.close(self._fd)  # releases the flock
        self._fd, self._path, self._size, self._dirty = None, None, 0, False

    def claimable(self) -> list[Path]:
        """Spool files other than this process's active one, oldest first."""
        paths = set(self.directory.glob(SPOOL_GLOB))
        with self._lock:
            active = self._path
            # Files another process replayed and deleted no longer wait on us.
            for gone in [path for path in self._pending if path not in paths and path != active]:
                del self._pending[gone]
        return sorted(path for path in paths if path != active)

    def claim(self, path: Path) -> ClaimedFile | None:
        """Lock and read a spool file for replay, or None when another live writer holds it."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # Another process may have replayed and unlinked it between our open and our lock.
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                raise FileNotFoundError(path)
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read()
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        claimed = ClaimedFile(path, fd)
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline; else a write torn by a crash
        if tail:
            claimed.damaged.append(tail)
        for line in lines:
            if not line:
                continue
            try:
                claimed.rows.append(decode_row(line))
            except ValueError:
                claimed.damaged.append(line)
        with self._lock:
            self._pending[path] = len(claimed.rows)
        return claimed

    def release(self, claimed: ClaimedFile) -> None:
        """Give a claimed file back untouched (its rows are still to be replayed)."""
        os.close(claimed.fd)

    def finish(self, claimed: ClaimedFile) -> None:
        """Delete a claimed file whose rows are all committed (keeping any damaged lines aside)."""
        if claimed.damaged:
            log.error("spool file %s had %d damaged line(s); kept in rejected-*.jsonl",
                      claimed.path.name, len(claimed.damaged))
            self.reject([{"reason": "damaged spool line", "line": line.decode("utf-8", "replace")}
                         for line in claimed.damaged])
        os.unlink(claimed.path)
        _fsync_dir(self.directory)
        os.close(claimed.fd)
        with self._lock:
            self._pending.pop(claimed.path, None)

    def reject(self, entries: Sequence[dict[str, object]]) -> None:
        """Keep rows the database refuses (bad data) in a file an operator can inspect; never replayed."""
        if not entries:
            return
        data = b"".join(orjson.dumps(entry, default=str) + b"\n" for entry in entries)
        path = self.directory / f"rejected-{os.getpid()}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Seal the active file."""
        self.seal()
