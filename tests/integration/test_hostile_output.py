"""Output that cannot be written, and a dedupe store that fails (issue 22), on the real broker.

A record handled by printing it is complete only once its line reached stdout. A full disk
(/dev/full: ENOSPC), a file size limit (`ulimit -f`: EFBIG), a reader that went away (EPIPE) or
a stdout open for reading only (EBADF) stops `consume` in both modes with one line and exit 1;
the group commits no offset past the last line written, and nothing goes to a retry tier or the
DLQ for it. The print handler needs no tiers or DLQ in a group. A dedupe store that cannot
record stops the run with exit 1.

Counts come from kcat and the group's committed offsets (kafka-python's admin client); every
process runs under a hard timeout that kills its process group.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from kafka.admin import NewTopic

from tests.integration.hostile_cases import (
    Ran,
    assert_clean,
    assert_one_error,
    kafkactl,
    kcat_count,
    shell,
)
from tests.integration.kafka_helpers import committed_and_end
from tests.integration.kafka_helpers import produce as kp_produce

TIMEOUT = 90.0
RECORDS = 300
PAD = "p" * 100  # each envelope line ~250 bytes: 300 records ~75 KB, past the 64 KiB buffer


def make_topics(admin, topic: str, group: str | None, partitions: int = 2) -> list[str]:
    """The topic (and, with a group, its retry tiers and DLQ, named as kafkactl names them)."""
    from kafkactl.config import load_settings
    from kafkactl.topology import pipeline_topics

    settings = load_settings(env={}, config_path=os.devnull)
    names = [p.name for p in pipeline_topics(settings, topic, group, with_retry=True)]
    admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    return names


def fill(brokers: str, topic: str, n: int = RECORDS) -> None:
    kp_produce(
        brokers, topic, ((b"k%d" % (i % 7), json.dumps({"i": i, "pad": PAD}).encode(), [])
                         for i in range(n))
    )  # fmt: skip


def offsets(brokers: str, group: str, topic: str) -> dict[int, tuple[int, int]]:
    """(committed, end) per partition: the group's committed offset (0 when none), the end."""
    state = committed_and_end(brokers, group, [topic])
    return {tp.partition: (max(done, 0), end) for tp, (done, end) in state.items()}


def committed(brokers: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition (0 when none)."""
    return {p: done for p, (done, _) in offsets(brokers, group, topic).items()}


def lines_per_partition(data: bytes) -> dict[int, list[int]]:
    """The offsets of the whole envelope lines written, per partition (a cut last line is not
    written)."""
    out: dict[int, list[int]] = {}
    for line in data.split(b"\n")[:-1]:
        doc = json.loads(line)
        out.setdefault(doc["partition"], []).append(doc["offset"])
    return out


def output_error(ran: Ran, *keywords: str) -> str:
    assert ran.returncode == 1, ran
    return assert_one_error(ran, keywords)


def test_a_full_disk_in_a_group_commits_nothing_and_routes_nothing(
    cli_env: dict, brokers: str, topic_name: str, admin
) -> None:
    group = f"g-{topic_name}"
    names = make_topics(admin, topic_name, group)
    fill(brokers, topic_name)

    # --on-failure dlq: even with routing on, an output error is no failure of the record.
    ran = shell(
        f"KCTL consume {topic_name} -g {group} -e --on-failure dlq > /dev/full",
        cli_env, timeout=TIMEOUT,
    )  # fmt: skip

    output_error(ran, "cannot write to stdout", "No space left on device", "ENOSPC")
    assert "final offset commit failed" not in ran.err
    assert committed(brokers, group, topic_name) == {0: 0, 1: 0}  # not a line was written
    for name in names[1:]:  # retry tiers and DLQ
        assert kcat_count(brokers, name) == 0, f"{name} got copies of records never printed"

    again = kafkactl("consume", topic_name, "-g", group, "-e", env=cli_env, timeout=TIMEOUT)
    assert again.returncode == 0, again
    assert sum(len(v) for v in lines_per_partition(again.stdout).values()) == RECORDS
    assert all(done == end for done, end in offsets(brokers, group, topic_name).values())


def test_a_full_disk_without_a_group_is_one_line_and_exit_1(
    cli_env: dict, brokers: str, topic_name: str, admin
) -> None:
    make_topics(admin, topic_name, None)
    fill(brokers, topic_name)

    ran = shell(f"KCTL consume {topic_name} -e > /dev/full", cli_env, timeout=TIMEOUT)

    output_error(ran, "cannot write to stdout", "No space left on device")


@pytest.mark.parametrize("group", [True, False], ids=["group", "reader"])
def test_a_file_size_limit_commits_at_most_the_lines_written_and_a_rerun_gives_the_rest(
    cli_env: dict, brokers: str, topic_name: str, admin, tmp_path: Path, group: bool
) -> None:
    name = f"g-{topic_name}"
    make_topics(admin, topic_name, name if group else None)
    fill(brokers, topic_name)
    out = tmp_path / "out.jsonl"
    flags = f"-g {name}" if group else ""

    # Python ignores SIGXFSZ, so the write past the limit fails with EFBIG (not a kill).
    ran = shell(
        f"ulimit -f 40; KCTL consume {topic_name} {flags} -e > {out}", cli_env, timeout=TIMEOUT
    )  # 40 blocks of 512 bytes: about 80 of the 300 lines

    output_error(ran, "cannot write to stdout", "File too large", "EFBIG")
    written = lines_per_partition(out.read_bytes())
    assert 0 < sum(map(len, written.values())) < RECORDS
    if not group:
        return
    done = committed(brokers, name, topic_name)
    for partition, point in done.items():
        lines = written.get(partition, [])
        assert lines[:point] == list(range(point)), f"partition {partition}: {done} {written}"

    again = kafkactl("consume", topic_name, "-g", name, "-e", env=cli_env, timeout=TIMEOUT)
    assert again.returncode == 0, again
    rest = lines_per_partition(again.stdout)
    for partition, (now, end) in offsets(brokers, name, topic_name).items():
        assert rest.get(partition, []) == list(range(done[partition], end)) and now == end


@pytest.mark.parametrize("group", [True, False], ids=["group", "reader"])
def test_a_reader_that_goes_away_is_one_line_and_exit_1(
    cli_env: dict, brokers: str, topic_name: str, admin, group: bool
) -> None:
    name = f"g-{topic_name}"
    make_topics(admin, topic_name, None)  # a plain topic: the printer needs no tiers or DLQ
    fill(brokers, topic_name, 2000)  # ~500 KB: more than the pipe and the buffer hold
    flags = f"-g {name}" if group else ""

    ran = shell(
        f"KCTL consume {topic_name} {flags} -e | head -c 1000 > /dev/null; "
        'exit "${PIPESTATUS[0]}"',
        cli_env, timeout=TIMEOUT,
    )  # fmt: skip

    output_error(ran, "stdout closed (broken pipe)")
    if group:
        assert sum(committed(brokers, name, topic_name).values()) < 2000  # head dropped some


@pytest.mark.parametrize("group", [True, False], ids=["group", "reader"])
def test_stdout_open_for_reading_only_is_one_line_and_exit_1(
    cli_env: dict, brokers: str, topic_name: str, admin, group: bool
) -> None:
    name = f"g-{topic_name}"
    make_topics(admin, topic_name, None)
    fill(brokers, topic_name)
    flags = f"-g {name}" if group else ""

    ran = shell(f"KCTL consume {topic_name} {flags} -e 1< /dev/null", cli_env, timeout=TIMEOUT)

    output_error(ran, "cannot write to stdout", "Bad file descriptor", "EBADF")
    if group:
        assert committed(brokers, name, topic_name) == {0: 0, 1: 0}


def test_a_group_on_a_plain_topic_reads_and_commits_like_kcat(
    cli_env: dict, brokers: str, topic_name: str, admin
) -> None:
    group = f"g-{topic_name}"
    make_topics(admin, topic_name, None)
    fill(brokers, topic_name)

    ran = kafkactl("consume", topic_name, "-g", group, "-e", env=cli_env, timeout=TIMEOUT)

    assert ran.returncode == 0, ran
    assert_clean(ran)
    assert sum(len(v) for v in lines_per_partition(ran.stdout).values()) == RECORDS
    state = offsets(brokers, group, topic_name)
    assert all(done == end for done, end in state.values()), state
    assert not [t for t in admin.list_topics() if t.startswith(f"{topic_name}.")]


HANDLER = "def handle(message):\n    return None\n"


def test_a_dedupe_store_that_cannot_record_stops_the_run(
    cli_env: dict, brokers: str, topic_name: str, admin, tmp_path: Path
) -> None:
    from kafkactl.consumer.dedupe import SqliteDedupeStore

    group = f"g-{topic_name}"
    make_topics(admin, topic_name, group, partitions=1)
    fill(brokers, topic_name)
    (tmp_path / "quiet_handler.py").write_text(HANDLER)
    store = tmp_path / "dedupe.db"
    SqliteDedupeStore(store).close()  # made while there is room
    consume = (
        f"KCTL consume {topic_name} -g {group} -e --handler quiet_handler:handle "
        f"--ordering partition --dedupe sqlite:{store} --json"
    )

    # A file size limit (root included) just past the 32 KiB WAL index: the store opens, then
    # its WAL cannot grow past a few transactions (EFBIG: "disk I/O error").
    ran = shell(f"ulimit -f 66; {consume}", cli_env, timeout=TIMEOUT, cwd=tmp_path)

    line = output_error(ran, "dedupe store", str(store), "cannot record")
    assert "consume stopped" in line
    summary = json.loads(ran.stdout)
    assert summary["stopped_by"] == "dedupe error" and f"error: {summary['error']}" == line
    rows = sqlite3.connect(store).execute("SELECT count(*) FROM dedupe").fetchone()[0]
    done = committed(brokers, group, topic_name)[0]
    # One at a time: each success recorded, then the one the store could not record, which
    # did succeed (committed); nothing started after it.
    assert summary["metrics"]["processed"] == done == rows + 1 < RECORDS

    again = shell(consume, cli_env, timeout=TIMEOUT, cwd=tmp_path)
    assert again.returncode == 0, again
    rerun = json.loads(again.stdout)["metrics"]
    assert rerun["processed"] == RECORDS - done and rerun["deduplicated"] == 0
    assert committed(brokers, group, topic_name)[0] == RECORDS
