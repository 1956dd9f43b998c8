"""Hostile dead letters and hostile timing for `replay-dlq`, `dlq summary` and `health` (issue
22 E, H, I), on the real broker and both engines, counted by kcat:

- keys, error classes and messages holding terminal escapes (CSI, OSC, C1 CSI, CR, bidi
  overrides) are shown escaped, never raw, in every table (piped with a fixed width, and on a
  pseudo-terminal read through a VT emulator: the screen is not cleared, the title not set);
- a dead letter whose origin is internal to Kafka (`__consumer_offsets`, `__transaction_state`)
  or not a legal topic name is refused with its reason and counted; the rest are replayed, and
  the next run does not stop at it;
- two replays of one DLQ started together, and a third while they run: exactly one sends, each
  of the others exits 1 naming it; kcat counts exactly one copy of each dead letter;
- numbers out of range (attempt 2^70, a Spring partition -1, a Connect offset 10^23) are read as
  absent: valid JSON, and never copied into `kafkactl.original.*`.

Every run is in its own session under a hard timeout (hostile_cases.run).
"""

from __future__ import annotations

import json
import time

import pytest
from kafka import KafkaProducer

from tests.conftest import REPO
from tests.integration.hostile_cases import (
    KAFKACTL,
    Ran,
    assert_clean,
    assert_one_error,
    finish,
    kafkactl,
    kcat_count,
    kcat_read,
    start,
)
from tests.integration.terminal_screen import TerminalScreen

GROUP = "billing"
# What a record can carry that a terminal would obey.
HOSTILE_KEY = "key\x1b[2J\x1b]0;pwned\x07\u009b31m\rFAKE".encode()
HOSTILE_CLASS = "Bad\x1b[31mClass\u009b2J"
HOSTILE_MESSAGE = "boom \x1b]0;title\x07 \u202eevil\u202c \x08\x00 end"
# Tables fold whitespace (a CR too) into one space.
SHOWN_KEY = "key\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m"
SHOWN_CLASS = "Bad\\x1b[31mClass\\x9b2J"
SHOWN_MESSAGE = "\\u202eevil\\u202c \\x08\\x00 end"


def _kafkactl_headers(origin: str, cls: str = "ValueError", message: str = "failed") -> list:
    return [
        ("kafkactl.original.topic", origin.encode()),
        ("kafkactl.original.partition", b"0"),
        ("kafkactl.original.offset", b"7"),
        ("kafkactl.group", GROUP.encode()),
        ("kafkactl.attempt", b"3"),
        ("kafkactl.error.kind", b"fatal"),
        ("kafkactl.error.class", cls.encode()),
        ("kafkactl.error.message", message.encode()),
    ]


def _pipeline(cli_env: dict, topic: str, partitions: int = 1) -> str:
    made = kafkactl(
        "create-topics", topic, "-g", GROUP, "--partitions", str(partitions), "-q", env=cli_env
    )
    assert made.returncode == 0, made
    return f"{topic}.{GROUP}.dlq"


def _write(brokers: str, topic: str, records: list[tuple[bytes | None, list]]) -> None:
    producer = KafkaProducer(bootstrap_servers=brokers.split(","), linger_ms=5)
    for key, headers in records:
        producer.send(topic, key=key, value=b'{"id": 1}', headers=headers)
    producer.flush()
    producer.close()


# --- E: escapes ------------------------------------------------------------------------------


@pytest.fixture
def hostile_dlq(cli_env: dict, brokers: str, topic_name: str) -> str:
    dlq = _pipeline(cli_env, topic_name)
    _write(
        brokers,
        dlq,
        [(HOSTILE_KEY, _kafkactl_headers(topic_name, HOSTILE_CLASS, HOSTILE_MESSAGE))] * 3,
    )
    return dlq


def test_escapes_in_keys_and_errors_are_shown_escaped_in_every_table(
    cli_env: dict, hostile_dlq: str, topic_name: str
) -> None:
    for args, shown in (
        (("replay-dlq", topic_name, "-g", GROUP, "--dry-run"), (SHOWN_KEY, SHOWN_MESSAGE)),
        (("dlq", "summary", topic_name, "-g", GROUP), (SHOWN_CLASS,)),
        (("dlq", "summary", topic_name, "-g", GROUP, "--by", "key"), (SHOWN_KEY,)),
        (("dlq", "summary", topic_name, "-g", GROUP, "--by", "message"), ("\\u202eevil",)),
        (("health", "-t", topic_name, "-g", GROUP), (SHOWN_CLASS,)),
    ):
        ran = kafkactl(*args, env=cli_env, timeout=60)
        assert ran.returncode in (0, 1), ran  # health: the DLQ holds dead letters
        assert_clean(ran)
        # Off a terminal Rich writes no styles: any ESC, BEL, C1 or CR would be the data's.
        for raw in ("\x1b", "\x07", "\x9b", "\r", "\u202e", "\x00", "\x08"):
            assert raw not in ran.err, f"{raw!r} reached stderr raw in {args}:\n{ran}"
        for text in shown:
            assert text in ran.err, f"{text!r} not shown by {args}:\n{ran}"


def test_the_json_output_keeps_the_exact_text(
    cli_env: dict, hostile_dlq: str, topic_name: str
) -> None:
    ran = kafkactl("replay-dlq", topic_name, "-g", GROUP, "--dry-run", "--json", env=cli_env)
    assert ran.returncode == 0, ran
    records = json.loads(ran.out)["records"]
    assert records[0]["key"] == HOSTILE_KEY.decode("utf-8", "replace")
    assert records[0]["error"] == f"{HOSTILE_CLASS}: {HOSTILE_MESSAGE}"


def test_on_a_terminal_the_screen_is_neither_cleared_nor_retitled(
    cli_env: dict, hostile_dlq: str, topic_name: str
) -> None:
    term = TerminalScreen(columns=200, lines=60)
    env = {k: v for k, v in cli_env.items() if k != "COLUMNS"}
    try:
        term.start(["replay-dlq", topic_name, "-g", GROUP, "--dry-run"], env, str(REPO))
        assert term.wait_exit(60) == 0, "\n".join(term.transcript())
        lines = term.transcript()
    finally:
        term.kill()
    text = "\n".join(lines)
    # A raw CSI 2J would have wiped the table's title; an OSC 0 would have set the title.
    assert any(line.startswith("Dry run: dead letters in") for line in lines), text
    assert term.screen.title == "", term.screen.title
    assert text.count(SHOWN_KEY) == 3 and SHOWN_CLASS in text, text


# --- H: refused targets ----------------------------------------------------------------------

REFUSED = {
    "__consumer_offsets": "is internal to Kafka",
    "__transaction_state": "is internal to Kafka",
    "orders with spaces": "may only hold",
    "orders/x": "may only hold",
}


def test_internal_and_illegal_origins_are_refused_counted_and_the_rest_replayed(
    cli_env: dict, brokers: str, topic_name: str
) -> None:
    dlq = _pipeline(cli_env, topic_name)
    normal = [(f"k{i}".encode(), _kafkactl_headers(topic_name)) for i in range(20)]
    refused = [(b"bad", _kafkactl_headers(origin)) for origin in REFUSED]
    _write(brokers, dlq, normal[:10] + refused[:2] + normal[10:] + refused[2:])
    tier = f"{topic_name}.{GROUP}.retry.1"

    first = kafkactl("replay-dlq", dlq, "-y", "--json", env=cli_env, timeout=60)
    assert first.returncode == 1, first
    assert_clean(first)
    summary = json.loads(first.out)
    assert (summary["replayed"], summary["failed"], summary["stopped_by"]) == (20, 4, "end")
    for origin, problem in REFUSED.items():
        reason = next(r for r in summary["failures"] if origin in r)
        assert reason.startswith("refused: its original topic") and problem in reason, reason
    assert kcat_count(brokers, tier) == 20

    # The next run does not stop at them either: new dead letters behind them are replayed.
    _write(brokers, dlq, [(f"n{i}".encode(), _kafkactl_headers(topic_name)) for i in range(5)])
    second = kafkactl("replay-dlq", dlq, "-y", "--json", env=cli_env, timeout=60)
    assert second.returncode == 1, second
    again = json.loads(second.out)
    # 0-9 are below the committed offset; 12-21, after the first refused one, are remembered.
    assert (again["replayed"], again["failed"], again["skipped"]) == (5, 4, 10), again
    assert kcat_count(brokers, tier) == 25

    # --to TOPIC sends them where the user says.
    made = kafkactl("create-topics", f"{topic_name}-fixed", "--no-retry", "-q", env=cli_env)
    assert made.returncode == 0, made
    third = kafkactl("replay-dlq", dlq, "-y", "--to", f"{topic_name}-fixed", "--json", env=cli_env)
    assert third.returncode == 0, third
    assert kcat_count(brokers, f"{topic_name}-fixed") == 4


def test_an_internal_to_flag_is_a_usage_error(cli_env: dict, brokers: str, topic_name: str):
    dlq = _pipeline(cli_env, topic_name)
    ran = kafkactl("replay-dlq", dlq, "-y", "--to", "__consumer_offsets", env=cli_env)
    assert ran.returncode == 2, ran
    assert_one_error(ran, ("--to", "__consumer_offsets", "internal"))


# --- H: one replay at a time -----------------------------------------------------------------

DEAD_LETTERS = 300


def test_concurrent_replays_one_sends_the_others_exit_1_naming_it(
    cli_env: dict, brokers: str, topic_name: str
) -> None:
    dlq = _pipeline(cli_env, topic_name, partitions=3)
    _write(
        brokers,
        dlq,
        [(f"k{i}".encode(), _kafkactl_headers(topic_name)) for i in range(DEAD_LETTERS)],
    )
    # --rate keeps the winner busy ~15 s; the third replay starts once the winner is sending,
    # so it arrives while the winner runs even when start-up is slow on a loaded machine (a
    # replay that starts after the winner ended may rightly win).
    argv = [*KAFKACTL, "replay-dlq", dlq, "-y", "--json", "--rate", "20"]
    t0 = time.monotonic()
    together = [start(argv, cli_env) for _ in range(2)]
    tier = f"{topic_name}.{GROUP}.retry.1"
    deadline = time.monotonic() + 60
    while kcat_count(brokers, tier) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    late = start(argv, cli_env)
    ran: list[tuple[int, Ran]] = [
        (proc.pid, finish(proc, f"replay {n}", t0, 90, b""))
        for n, proc in enumerate([*together, late])
    ]
    winners = [(pid, r) for pid, r in ran if r.returncode == 0]
    assert len(winners) == 1, "\n".join(str(r) for _, r in ran)
    winner_pid, winner = winners[0]
    assert json.loads(winner.out)["replayed"] == DEAD_LETTERS
    for pid, r in ran:
        if pid == winner_pid:
            continue
        assert r.returncode == 1, r
        assert_one_error(r, ("another replay-dlq", dlq, "is running", f"pid {winner_pid} "))
        assert r.out == "", r
    assert kcat_count(brokers, f"{topic_name}.{GROUP}.retry.1") == DEAD_LETTERS

    # The lease is free again once the winner is done: a next run replays nothing new, exit 0.
    after = kafkactl("replay-dlq", dlq, "-y", "--json", env=cli_env, timeout=60)
    assert after.returncode == 0 and json.loads(after.out)["replayed"] == 0, after


# --- I: numbers out of range -----------------------------------------------------------------


def test_numbers_out_of_range_are_absent_never_copied_and_the_json_is_valid(
    cli_env: dict, brokers: str, topic_name: str
) -> None:
    dlq = _pipeline(cli_env, topic_name)
    attempt = _kafkactl_headers(topic_name)
    attempt[4] = ("kafkactl.attempt", str(2**70).encode())
    spring = [
        ("kafka_dlt-original-topic", topic_name.encode()),
        ("kafka_dlt-original-partition", b"\xff\xff\xff\xff"),  # -1
        ("kafka_dlt-original-offset", (42).to_bytes(8, "big")),
        ("kafka_dlt-original-consumer-group", GROUP.encode()),
        ("kafka_dlt-exception-fqcn", b"org.example.Boom"),
    ]
    connect = [
        ("__connect.errors.topic", topic_name.encode()),
        ("__connect.errors.partition", b"0"),
        ("__connect.errors.offset", str(10**23).encode()),
        ("__connect.errors.exception.class.name", b"org.example.Bang"),
    ]
    _write(brokers, dlq, [(b"a", attempt), (b"s", spring), (b"c", connect)])

    summary = kafkactl("dlq", "summary", dlq, "--json", env=cli_env)
    assert summary.returncode == 0, summary
    assert_clean(summary)
    doc = json.loads(summary.out)
    assert doc["matched"] == 3
    assert all(g["attempts"]["max"] is None for g in doc["groups"]), doc["groups"]

    ran = kafkactl(
        "replay-dlq", dlq, "--dlq", "-g", GROUP, "-y", "--to", "original", "--json", env=cli_env
    )
    assert ran.returncode == 0, ran
    replay = json.loads(ran.out)
    assert replay["replayed"] == 3
    assert replay["ignored_numbers"] == {
        "kafkactl.attempt": 1,
        "kafka_dlt-original-partition": 1,
        "__connect.errors.offset": 1,
    }
    copies = {r.key: r.headers for r in kcat_read(brokers, topic_name, values=False)}
    assert "kafkactl.original.partition" not in copies[b"s"], copies[b"s"]
    assert "kafkactl.original.offset=42" in copies[b"s"], copies[b"s"]
    assert "kafkactl.original.offset" not in copies[b"c"], copies[b"c"]
    assert "kafkactl.original.partition=0" in copies[b"c"], copies[b"c"]
