"""Deduplication stores (DESIGN §6.12): remember which message-ids a consumer group has handled.

The consumer asks `seen(group, id)` before running a handler, skips (and counts) the message if
it was, and calls `mark(group, id)` after the handler succeeded and before the offset can be
committed. The id is the record's `message-id` header, else `topic/partition/offset` of where it
was first read (`topology.default_message_id`). A message without an id (empty string) is never
deduplicated.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from loguru import logger

from kafkactl.errors import KafkactlError, UsageError

__all__ = [
    "DedupeCheck",
    "DedupeError",
    "DedupeStore",
    "MemoryDedupeStore",
    "NullDedupeStore",
    "SqliteDedupeStore",
    "open_store",
]


class DedupeError(KafkactlError):
    """The store failed at run time (e.g. the SQLite file's disk is full)."""


class DedupeStore(ABC):
    """Which (group, message-id) pairs have been handled successfully; thread-safe."""

    @abstractmethod
    def seen(self, group: str, message_id: str) -> bool:
        """True if this group already handled this message-id successfully."""

    @abstractmethod
    def mark(self, group: str, message_id: str) -> None:
        """Remember that this group handled this message-id (call after the handler succeeded)."""

    @abstractmethod
    def close(self) -> None:
        """Release the store's resources."""

    # True for a store whose marks are written out (they outlive the process, and may fail):
    # each success is marked the moment its handler returns, never gathered for its batch, so
    # DESIGN §6.12's crash window stays one record per worker and a failing store stops the run
    # before another handler starts. An in-memory store's marks are gathered per batch.
    durable = False

    def mark_many(self, group: str, message_ids: list[str]) -> None:
        """`mark` each id in turn (a batch's successes)."""
        for message_id in message_ids:
            self.mark(group, message_id)

    def __enter__(self) -> DedupeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NullDedupeStore(DedupeStore):
    """`--dedupe none`: nothing is ever seen."""

    def seen(self, group: str, message_id: str) -> bool:
        """Never."""
        return False

    def mark(self, group: str, message_id: str) -> None:
        """Forget it."""

    def close(self) -> None:
        """Nothing to release."""


class MemoryDedupeStore(DedupeStore):
    """`--dedupe memory`: the most recent `max_entries` ids in an LRU, lost on exit.

    100,000 by default: far more than can be uncommitted at once, yet a few MiB.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, group: str, message_id: str) -> bool:
        """True if marked and not yet evicted (a hit counts as a use)."""
        if not message_id:
            return False
        key = (group, message_id)
        if key not in self._entries:  # a miss needs no lock (a lookup of one key is atomic)
            return False
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return True
            return False

    def mark(self, group: str, message_id: str) -> None:
        """Remember the id, evicting the least recently used beyond max_entries."""
        if not message_id:
            return
        key = (group, message_id)
        with self._lock:
            self._entries[key] = None
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def mark_many(self, group: str, message_ids: list[str]) -> None:
        """`mark` each id in turn, under one lock acquisition."""
        entries, limit = self._entries, self.max_entries
        with self._lock:
            for message_id in message_ids:
                if message_id:
                    key = (group, message_id)
                    if key in entries:
                        entries.move_to_end(key)
                    else:
                        entries[key] = None  # a new key goes to the end
            while len(entries) > limit:
                entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def close(self) -> None:
        """Drop the entries."""
        with self._lock:
            self._entries.clear()


class SqliteDedupeStore(DedupeStore):
    """`--dedupe sqlite:PATH`: survives restarts, so a crash after success never reruns a handler.

    One connection shared by the worker threads under a lock; every mark() is its own committed
    transaction before it returns. Several processes may share one file (busy timeout).
    """

    durable = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: autocommit, each INSERT is committed when execute() returns.
            self._db = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None, timeout=30.0
            )
        except (OSError, sqlite3.Error) as exc:
            raise self._usage(exc) from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode, synchronous=NORMAL makes a commit durable against a crash of the
            # process (kill -9 between a handler's success and the offset commit): the WAL
            # frames are in the OS before COMMIT returns. Only an OS crash or power loss can
            # roll back the last transactions, which FULL (an fsync per mark) would also cover
            # at a much higher cost per message.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS dedupe ("
                " grp TEXT NOT NULL,"
                " message_id TEXT NOT NULL,"
                " done_at INTEGER NOT NULL,"
                " PRIMARY KEY (grp, message_id)"
                ") WITHOUT ROWID"
            )
        except sqlite3.Error as exc:
            self._db.close()
            raise self._usage(exc) from None

    def _usage(self, exc: Exception) -> UsageError:
        """A one-line error for a store that cannot be opened."""
        return UsageError(
            f"--dedupe sqlite:{self.path}: cannot open the SQLite store ({exc}); "
            "use a writable file path"
        )

    def seen(self, group: str, message_id: str) -> bool:
        """True if the row exists."""
        if not message_id:
            return False
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT 1 FROM dedupe WHERE grp = ? AND message_id = ?", (group, message_id)
                ).fetchone()
        except sqlite3.Error as exc:
            raise DedupeError(f"dedupe store {self.path}: lookup failed ({exc})") from None
        return row is not None

    def mark(self, group: str, message_id: str) -> None:
        """Insert the row and commit before returning (durable before the offset commit)."""
        if not message_id:
            return
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR IGNORE INTO dedupe (grp, message_id, done_at) VALUES (?, ?, ?)",
                    (group, message_id, int(time.time() * 1000)),
                )
        except sqlite3.Error as exc:
            raise DedupeError(f"dedupe store {self.path}: cannot record ({exc})") from None

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()


class DedupeCheck:
    """The store at work in the pipeline (DESIGN §6.12): the first failure stops the run with one
    line (`stop`); a message it could not look up is left incomplete, one whose success it
    could not record stays complete (its handler did succeed)."""

    def __init__(
        self,
        store: DedupeStore,
        group: str,
        lock: threading.RLock,
        stop: Callable[[str], None],
    ) -> None:
        self.store = store
        self._group = group
        self._lock = lock
        self._stop = stop
        self.broken = False  # the store failed: nothing more is started

    def seen(self, message_id: str) -> bool | None:
        """Whether the store had this message; None when it failed (the run stops)."""
        try:
            return self.store.seen(self._group, message_id)
        except Exception as exc:
            self.failed(exc)
            return None

    def mark(self, message_id: str) -> None:
        """Record a success; a store that fails stops the run."""
        try:
            self.store.mark(self._group, message_id)
        except Exception as exc:
            # The handler did succeed: the message stays complete (committed), since leaving
            # it uncommitted would surely run it again; the run stops, as a store that cannot
            # record no longer keeps a restart from running handled messages again.
            self.failed(exc)

    def failed(self, exc: Exception) -> None:
        """Stop the run on the first failure, with one line; later ones (work still in flight)
        are only logged at DEBUG."""
        with self._lock:
            first = not self.broken
            self.broken = True
        if not first:
            logger.debug("dedupe store failed again: {}", exc)
            return
        reason = str(exc)
        if not isinstance(exc, DedupeError):
            reason = f"dedupe store failed ({type(exc).__name__}: {reason})"
        self._stop(
            f"{reason}; consume stopped, as a restart could no longer skip what was handled "
            "(messages handled so far are committed, the rest is read again): fix the store "
            "(free space on its disk, its permissions) and run again"
        )


def open_store(spec: str) -> DedupeStore:
    """`memory`, `none` or `sqlite:PATH` -> a store; UsageError for anything else."""
    text = (spec or "").strip()
    kind, sep, rest = text.partition(":")
    kind = kind.lower()
    if not sep and kind == "memory":
        return MemoryDedupeStore()
    if not sep and kind == "none":
        return NullDedupeStore()
    if sep and kind == "sqlite":
        if not rest.strip():
            raise UsageError("--dedupe sqlite:PATH needs a path, e.g. sqlite:./dedupe.db")
        return SqliteDedupeStore(rest.strip())
    raise UsageError(f"--dedupe must be memory, none or sqlite:PATH, got {spec!r}")
