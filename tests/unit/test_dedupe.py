"""Dedupe stores: seen/mark per group, bounded memory, SQLite that survives a restart."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from kafkactl.consumer.dedupe import (
    DedupeError,
    DedupeStore,
    MemoryDedupeStore,
    NullDedupeStore,
    SqliteDedupeStore,
    open_store,
)
from kafkactl.errors import UsageError


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    made: DedupeStore = (
        MemoryDedupeStore() if request.param == "memory" else SqliteDedupeStore(tmp_path / "d.db")
    )
    yield made
    made.close()


def test_seen_after_mark(store: DedupeStore) -> None:
    assert not store.seen("g", "m-1")
    store.mark("g", "m-1")
    assert store.seen("g", "m-1")
    assert not store.seen("g", "m-2")


def test_groups_are_isolated(store: DedupeStore) -> None:
    store.mark("billing", "m-1")
    assert store.seen("billing", "m-1")
    assert not store.seen("shipping", "m-1")


def test_marking_twice_is_harmless(store: DedupeStore) -> None:
    store.mark("g", "m-1")
    store.mark("g", "m-1")
    assert store.seen("g", "m-1")


def test_empty_id_is_never_deduplicated(store: DedupeStore) -> None:
    store.mark("g", "")
    assert not store.seen("g", "")


def test_concurrent_marks(store: DedupeStore) -> None:
    threads, per_thread = 8, 200
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(per_thread):
                store.mark("g", f"{t}-{i}")
                assert store.seen("g", f"{t}-{i}")
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    assert all(store.seen("g", f"{t}-{i}") for t in range(threads) for i in range(per_thread))


def test_memory_evicts_least_recently_used() -> None:
    store = MemoryDedupeStore(max_entries=3)
    for mid in ("a", "b", "c"):
        store.mark("g", mid)
    assert store.seen("g", "a")  # a hit makes "a" the most recent
    store.mark("g", "d")  # evicts "b", the least recently used
    assert len(store) == 3
    assert not store.seen("g", "b")
    assert all(store.seen("g", mid) for mid in ("a", "c", "d"))


def test_memory_stays_bounded() -> None:
    store = MemoryDedupeStore(max_entries=100)
    for i in range(1000):
        store.mark("g", str(i))
    assert len(store) == 100
    assert store.seen("g", "999") and not store.seen("g", "0")


def test_memory_rejects_zero_size() -> None:
    with pytest.raises(ValueError):
        MemoryDedupeStore(max_entries=0)


def test_null_store_never_sees() -> None:
    store = NullDedupeStore()
    store.mark("g", "m-1")
    assert not store.seen("g", "m-1")
    store.close()


def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "dedupe.db"
    with SqliteDedupeStore(path) as first:
        first.mark("g", "m-1")
        first.mark("other", "m-2")
    with SqliteDedupeStore(path) as second:
        assert second.seen("g", "m-1")
        assert second.seen("other", "m-2")
        assert not second.seen("g", "m-2")


def test_sqlite_store_of_uuid_ids_keeps_working_beside_coordinate_ids(tmp_path: Path) -> None:
    # A store written when produce gave every record a UUID4 message-id: same schema, its keys
    # still dedupe, and records without an id (keyed topic/partition/offset) share the table.
    path = tmp_path / "dedupe.db"
    old = "0b4c2a8e-3f1d-4c55-9a0e-6f2d8b1c7e90"
    with SqliteDedupeStore(path) as first:
        first.mark("g", old)
    with SqliteDedupeStore(path) as second:
        assert second.seen("g", old)
        assert not second.seen("g", "orders/0/17")
        second.mark("g", "orders/0/17")
        assert second.seen("g", "orders/0/17") and not second.seen("g", "orders/0/18")


def test_sqlite_mark_is_committed_before_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "dedupe.db"
    store = SqliteDedupeStore(path)
    store.mark("g", "m-1")
    # Another connection (as after a kill -9 and a restart) sees the row without a close.
    other = sqlite3.connect(path)
    try:
        rows = other.execute("SELECT grp, message_id, done_at FROM dedupe").fetchall()
    finally:
        other.close()
        store.close()
    assert [(g, m) for g, m, _ in rows] == [("g", "m-1")]
    assert rows[0][2] > 1_600_000_000_000  # epoch milliseconds


def test_sqlite_schema_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "dedupe.db"
    SqliteDedupeStore(path).close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'dedupe'").fetchone()[0]
    finally:
        db.close()
    assert "WITHOUT ROWID" in sql and "PRIMARY KEY (grp, message_id)" in sql


def test_sqlite_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "dedupe.db"
    SqliteDedupeStore(path).close()
    assert path.exists()


def test_sqlite_directory_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        SqliteDedupeStore(tmp_path)
    message = str(info.value)
    assert message.startswith(f"--dedupe sqlite:{tmp_path}: cannot open the SQLite store (")
    assert "\n" not in message


def test_sqlite_not_a_database_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("this is not a database\n" * 100)
    with pytest.raises(UsageError, match="cannot open the SQLite store"):
        SqliteDedupeStore(path)


def test_sqlite_unwritable_parent_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match="use a writable file path"):
        SqliteDedupeStore(blocker / "sub" / "dedupe.db")


def test_sqlite_errors_after_close_are_dedupe_errors(tmp_path: Path) -> None:
    store = SqliteDedupeStore(tmp_path / "d.db")
    store.close()
    store.close()  # idempotent
    with pytest.raises(DedupeError):
        store.mark("g", "m")
    with pytest.raises(DedupeError):
        store.seen("g", "m")


def test_open_store_memory_and_none() -> None:
    assert isinstance(open_store("memory"), MemoryDedupeStore)
    assert isinstance(open_store(" none "), NullDedupeStore)
    assert isinstance(open_store("MEMORY"), MemoryDedupeStore)


def test_open_store_sqlite(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path}/x/d.db")
    try:
        assert isinstance(store, SqliteDedupeStore)
        assert store.path == tmp_path / "x" / "d.db"
    finally:
        store.close()


def test_open_store_sqlite_needs_a_path() -> None:
    with pytest.raises(UsageError, match="--dedupe sqlite:PATH needs a path"):
        open_store("sqlite:")


@pytest.mark.parametrize("spec", ["redis", "", "memory:x", "none:", "sqlite", "file:/tmp/x"])
def test_open_store_rejects(spec: str) -> None:
    with pytest.raises(UsageError) as info:
        open_store(spec)
    assert str(info.value) == f"--dedupe must be memory, none or sqlite:PATH, got {spec!r}"
