"""Dead letters written by the real frameworks, replayed round after round with `replay-dlq`.

A Kafka Connect worker (FileStreamSink, errors.tolerance=all, DLQ with context headers, values
through JsonConverter with schemas, so plain JSON fails) and a Spring Kafka application (a
listener that throws on poison, DeadLetterPublishingRecoverer; and @RetryableTopic) write the
dead letters. Each round replays them `--to original`; the framework consumes the copies, fails
them again and dead-letters them again. What the user relies on: the new dead letter carries
each of the framework's headers once (not once more per round), is no larger than the first
apart from kafkactl's own once-only headers, and replay-dlq still reads the right origin;
`--keep-foreign-headers` keeps the framework's headers (and they pile up, as they used to).

Header counts and sizes per round are printed (run with -s to see them).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.foreign_fixtures import ConnectWorker, SpringApp
from tests.integration.kafka_helpers import header, produce, read_all, wait_for

ROUNDS = 3
BUSINESS = [("tenant", b"acme")]
# What the framework's own header values may vary by between rounds (offsets gain a digit).
SLACK = 16
CONNECT = "__connect.errors."
SPRING = "kafka_dlt-"
# @RetryableTopic's names: its own original-* and exception-* headers, and its retry state.
SPRING_RETRY = ("kafka_original-", "kafka_exception-", "kafka_dlt-", "retry_topic-")


def _ok(result: Any) -> Any:
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert b"Traceback" not in result.stderr, result.stderr.decode()[-3000:]
    return result


def _replay(run_cli, dlq: str, *flags: str) -> dict:
    """`replay-dlq DLQ --dlq --to original FLAGS --json`; the JSON summary."""
    result = _ok(
        run_cli("replay-dlq", dlq, "--dlq", "--to", "original", *flags, "--json", input="")
    )
    return json.loads(result.stdout)


def _records(brokers: str, topic: str, count: int, timeout: float = 90) -> list:
    """The records of `topic` once it has at least `count` (fails the test after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        found = read_all(brokers, topic)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{topic} has {len(found)} records, waited for {count}")
        time.sleep(0.3)


def _names(record: Any) -> Counter[str]:
    return Counter(k for k, _ in record.headers)


def _size(record: Any, keep: Callable[[str], bool] = lambda _: True) -> int:
    """Bytes of the record's headers (names and values) that `keep` selects."""
    return sum(len(k.encode()) + len(v or b"") for k, v in record.headers if keep(k))


def _kafkactl_own(name: str) -> bool:
    return name.startswith("kafkactl.") or name == "message-id"


def _by_key(records: list) -> dict[bytes, Any]:
    return {r.key: r for r in records}


def _rounds(run_cli, brokers: str, topic: str, dlq: str, first: list) -> list[dict[bytes, Any]]:
    """Replay the newest dead letters `--to original` ROUNDS times; each round's new dead
    letters (by key), the first being `first`."""
    rounds = [_by_key(first)]
    per_round = len(first)
    for n in range(1, ROUNDS + 1):
        done = _replay(run_cli, dlq, "--yes")
        assert (done["replayed"], done["failed"]) == (per_round, 0)
        assert done["targets"] == {topic: per_round}
        assert done["foreign_headers"]["kept"] is False
        fresh = _records(brokers, dlq, per_round * (n + 1))[per_round * n :]
        rounds.append(_by_key(fresh))
    return rounds


def _show(framework: str, rounds: list[dict[bytes, Any]]) -> None:
    for n, dead in enumerate(rounds):
        for key, r in sorted(dead.items()):
            names = _names(r)
            repeated = sum(c - 1 for c in names.values())
            print(
                f"{framework} round {n} key {key.decode()}: {len(r.headers)} headers "
                f"({repeated} repeated), {_size(r)} B of headers"
            )


def _check_no_growth(rounds: list[dict[bytes, Any]], prefixes: tuple[str, ...]) -> None:
    """Each framework header once per dead letter, every round, and no growth."""
    first = rounds[0]
    for n, dead in enumerate(rounds[1:], start=1):
        assert dead.keys() == first.keys()
        for key, r in dead.items():
            names = _names(r)
            framework = {k for k in names if k.startswith(prefixes)}
            assert framework == {k for k in _names(first[key]) if k.startswith(prefixes)}
            assert [k for k, c in names.items() if c > 1] == [], f"round {n}: {names}"
            assert header(r, "tenant") == "acme", "business headers kept"
            assert header(r, "kafkactl.replay.count") == str(n)
            own = _size(r, _kafkactl_own)
            assert _size(r) <= _size(first[key]) + own + SLACK, f"round {n} grew"
            assert _size(r) <= _size(rounds[1][key]) + SLACK, f"round {n} grew"


def _origin_checks(
    brokers: str,
    topic: str,
    dlq: str,
    rounds: list[dict[bytes, Any]],
    offset_of: Callable[[Any], int],
) -> None:
    """The framework consumed each copy (its new dead letter names the copy's offset), and
    kafkactl.original.* still names the first failure."""
    copies = {header(c, "kafkactl.replay.from"): c for c in read_all(brokers, topic)}
    for n in range(1, len(rounds)):
        for key, r in rounds[n].items():
            source = rounds[n - 1][key]
            copy = copies[f"{dlq}:{source.partition}:{source.offset}"]
            assert (copy.key, copy.value) == (source.key, source.value)
            assert offset_of(r) == copy.offset, "the framework failed the copy"
            assert header(r, "kafkactl.original.topic") == topic
            assert header(r, "kafkactl.original.offset") == str(offset_of(rounds[0][key]))


def _dry_run_reads_the_origin(run_cli, dlq: str, topic: str, family: str) -> None:
    plan = _replay(run_cli, dlq, "--dry-run", "--max-replays", "10")
    assert [(r["original_topic"], r["action"], r["repeated"]) for r in plan["records"]] == [
        (topic, "replay", []),
        (topic, "replay", []),
    ]
    assert plan["foreign_headers"]["families"] == {family: 2}


def _keep_foreign_round(run_cli, brokers: str, topic: str, dlq: str) -> list:
    """One replay with --keep-foreign-headers; the dead letters the framework writes next."""
    before = len(read_all(brokers, dlq))
    kept = _replay(run_cli, dlq, "--keep-foreign-headers", "--max-replays", "10", "--yes")
    assert kept["replayed"] == 2 and kept["foreign_headers"]["kept"] is True
    return _records(brokers, dlq, before + 2)[before:]


def _dry_run_notes_repeats(run_cli, dlq: str, topic: str) -> list[str]:
    """The dry run over dead letters whose framework headers repeat: the right origin, and a
    note saying the last occurrence was read. Returns the repeated names of the first row."""
    plan = _replay(run_cli, dlq, "--dry-run", "--max-replays", "10")
    rows = plan["records"]
    assert [r["original_topic"] for r in rows] == [topic, topic]
    assert all(r["repeated"] for r in rows)
    assert plan["foreign_headers"]["repeated_records"] == 2
    shown = _ok(run_cli("replay-dlq", dlq, "--dlq", "--to", "original", "--dry-run", input=""))
    text = " ".join(shown.stderr.decode().split())
    assert "2 dead letters carry framework headers more than once" in text
    assert "the last occurrence of each, the framework's newest, was read" in text
    return list(rows[0]["repeated"])


def _create(run_cli, *topics: str) -> None:
    for topic in topics:
        _ok(run_cli("create-topics", topic, "--no-retry", "-p", "1"))


def _poison(brokers: str, topic: str, good: bytes) -> None:
    """Two records the framework cannot process (k1, k2) and one it can (k3)."""
    produce(
        brokers,
        topic,
        [
            (b"k1", b'{"id": 1, "poison": true}', BUSINESS),
            (b"k2", b'{"id": 2, "poison": true}', BUSINESS),
            (b"k3", good, BUSINESS),
        ],
    )


# --- Kafka Connect ------------------------------------------------------------------------------


@pytest.mark.timeout(240, func_only=True)
def test_connect_dead_letters_replay_round_after_round_without_header_growth(
    run_cli, brokers, topic_name, connect_worker: ConnectWorker
):
    topic, dlq = topic_name, f"{topic_name}.dlq"
    _create(run_cli, topic, dlq)
    sink = connect_worker.dead_lettering_sink(f"sink-{topic}", topic, dlq)
    try:
        _poison(brokers, topic, b'{"schema": {"type": "string"}, "payload": "fine"}')
        first = _records(brokers, dlq, 2)
        wait_for(lambda: "fine" in sink.read_text(), 30, "the good record in the sink file")
        for r in first:
            assert r.key in (b"k1", b"k2")
            assert header(r, "__connect.errors.stage") == "VALUE_CONVERTER"
            assert header(r, "__connect.errors.exception.stacktrace"), "context headers on"

        rounds = _rounds(run_cli, brokers, topic, dlq, first)
        _show("connect", rounds)
        _check_no_growth(rounds, (CONNECT,))
        _origin_checks(
            brokers, topic, dlq, rounds, lambda r: int(header(r, "__connect.errors.offset"))
        )
        _dry_run_reads_the_origin(run_cli, dlq, topic, "__connect.errors.*")

        # --keep-foreign-headers: the copies carry Connect's headers and Connect adds its own.
        again = _keep_foreign_round(run_cli, brokers, topic, dlq)
        _show("connect --keep-foreign-headers", [_by_key(again)])
        for r in again:
            names = _names(r)
            assert names["__connect.errors.topic"] == 2
            assert names["__connect.errors.exception.stacktrace"] == 2
        repeated = _dry_run_notes_repeats(run_cli, dlq, topic)
        assert "__connect.errors.offset" in repeated
    finally:
        connect_worker.delete(f"sink-{topic}")


# --- Spring Kafka -------------------------------------------------------------------------------


def _spring_offset(record: Any) -> int:
    raw = [v for k, v in record.headers if k == "kafka_dlt-original-offset"][-1]
    return int.from_bytes(raw, "big", signed=True)


@pytest.mark.timeout(240, func_only=True)
def test_spring_dead_letters_replay_round_after_round_without_header_growth(
    run_cli, brokers, topic_name, spring_app: Callable[..., SpringApp]
):
    topic, dlt = topic_name, f"{topic_name}-dlt"
    _create(run_cli, topic, dlt)
    app = spring_app("plain", topic, f"app-{topic}")
    _poison(brokers, topic, b'{"id": 3}')
    first = _records(brokers, dlt, 2)
    wait_for(lambda: app.lines(f"OK {topic}-0@2"), 30, "the good record handled")
    for r in first:
        assert header(r, "kafka_dlt-exception-cause-fqcn") == "java.lang.IllegalStateException"
        assert header(r, "kafka_dlt-original-consumer-group") == f"app-{topic}"

    rounds = _rounds(run_cli, brokers, topic, dlt, first)
    _show("spring", rounds)
    _check_no_growth(rounds, (SPRING,))
    _origin_checks(brokers, topic, dlt, rounds, _spring_offset)
    assert len(app.lines("FAILED")) == 2 * (ROUNDS + 1), "Spring consumed every copy"
    _dry_run_reads_the_origin(run_cli, dlt, topic, "kafka_dlt-*")

    # --keep-foreign-headers: Spring appends its original-* headers, replaces its exception ones.
    again = _keep_foreign_round(run_cli, brokers, topic, dlt)
    _show("spring --keep-foreign-headers", [_by_key(again)])
    for r in again:
        names = _names(r)
        assert names["kafka_dlt-original-offset"] == 2
        assert names["kafka_dlt-exception-stacktrace"] == 1
    repeated = _dry_run_notes_repeats(run_cli, dlt, topic)
    assert "kafka_dlt-original-offset" in repeated


@pytest.mark.timeout(240, func_only=True)
def test_spring_retry_topic_dead_letters_go_through_the_retries_again(
    run_cli, brokers, topic_name, spring_app: Callable[..., SpringApp]
):
    topic, retry, dlt = topic_name, f"{topic_name}-retry", f"{topic_name}-dlt"
    _create(run_cli, topic, retry, dlt)
    spring_app("retry", topic, f"app-{topic}")
    produce(brokers, topic, [(b"k1", b'{"id": 1, "poison": true}', BUSINESS)])
    [first] = _records(brokers, dlt, 1)
    assert len(read_all(brokers, retry)) == 2, "attempts 2 and 3 on the retry topic"
    assert header(first, "kafka_original-topic") == topic
    attempts = _names(first)["retry_topic-attempts"]
    assert attempts >= 1
    # A dead letter that could not be read would fail here (no original topic).
    plan = _replay(run_cli, dlt, "--dry-run")
    assert [(r["original_topic"], r["repeated"]) for r in plan["records"]] == [(topic, [])]

    # Replayed without Spring's retry state: three attempts again, then the DLT.
    done = _replay(run_cli, dlt, "--yes")
    assert done["targets"] == {topic: 1}
    [copy] = [r for r in read_all(brokers, topic) if header(r, "kafkactl.replay.from")]
    assert not [k for k in _names(copy) if k.startswith(SPRING_RETRY)]
    assert header(copy, "tenant") == "acme"
    second = _records(brokers, dlt, 2)[1]
    assert len(read_all(brokers, retry)) == 4, "the copy went through the retry topic again"
    framework = Counter({k: c for k, c in _names(second).items() if k.startswith(SPRING_RETRY)})
    assert framework == Counter(
        {k: c for k, c in _names(first).items() if k.startswith(SPRING_RETRY)}
    ), "Spring's headers as many times as in the first dead letter, not more"
    assert [k for k, c in _names(second).items() if c > 1 and not k.startswith(SPRING_RETRY)] == []
    assert _size(second) <= _size(first) + _size(second, _kafkactl_own) + SLACK
    assert header(second, "kafkactl.original.topic") == topic
    _show("spring-retry", [{b"k1": first}, {b"k1": second}])

    # Kept, Spring's retry state says the attempts are used up: straight to the DLT.
    kept = _replay(run_cli, dlt, "--keep-foreign-headers", "--yes")
    assert kept["replayed"] == 1
    third = _records(brokers, dlt, 3)[2]
    assert len(read_all(brokers, retry)) == 4, "no retries for a copy that kept retry_topic-*"
    assert _names(third)["retry_topic-attempts"] > attempts
    _show("spring-retry --keep-foreign-headers", [{b"k1": third}])
