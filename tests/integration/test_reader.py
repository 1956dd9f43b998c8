"""consume without a group (reader mode) against the real broker, checked against kcat.

Topics are written by kcat, never by kafkactl, so what is read was made by another tool.
"""

from __future__ import annotations

import json

from kafka.admin import NewTopic

from tests.integration.kafka_helpers import kcat


def fill(admin, brokers: str, topic: str, partitions: int = 1, n: int = 6) -> list[int]:
    """n records per partition written by kcat (key k<i%2>, header h=<i>); their timestamps."""
    admin.create_topics([NewTopic(topic, partitions, 1)])
    for p in range(partitions):
        for i in range(n):
            kcat(
                brokers,
                "-P",
                "-t",
                topic,
                "-p",
                str(p),
                "-k",
                f"k{i % 2}",
                "-H",
                f"h={i}",
                data=f'{{"i":{i},"p":{p}}}'.encode(),
            )
    stamps = kcat(brokers, "-C", "-t", topic, "-p", "0", "-e", "-q", "-f", "%T\n")
    return [int(x) for x in stamps.split()]


def lines(result) -> list[dict]:
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(x) for x in result.stdout.splitlines()]


def test_reads_a_foreign_topic_twice_with_no_side_effect(run_cli, admin, brokers, topic_name):
    fill(admin, brokers, topic_name, partitions=2, n=3)
    groups_before = {g["group_id"] for g in admin.list_groups()}
    first = run_cli("consume", topic_name, "-e")
    second = run_cli("consume", topic_name, "-e")
    got = lines(first)
    assert sorted((r["partition"], r["offset"]) for r in got) == [
        (p, o) for p in (0, 1) for o in range(3)
    ]
    assert sorted(first.stdout.splitlines()) == sorted(second.stdout.splitlines())
    # No group appeared that knows the topic (other groups may come and go on a shared broker).
    new = {g["group_id"] for g in admin.list_groups()} - groups_before
    offsets = admin.list_group_offsets(dict.fromkeys(new)) if new else {}
    assert not [g for g, tps in offsets.items() if any(tp.topic == topic_name for tp in tps)]
    assert not [g for g in new if topic_name in g or g == "kafkactl"], "a reader joins no group"
    assert "missing topic" not in first.stderr.decode()


def test_from_and_to_agree_with_kcat(run_cli, admin, brokers, topic_name):
    stamps = fill(admin, brokers, topic_name)
    fmt = ("-f", "{offset}\\n")
    cases = [
        (["--from", "2"], ["-o", "2"]),
        (["--from", "-2"], ["-o", "-2"]),
        (["--from", f"@{stamps[3]}"], ["-o", f"s@{stamps[3]}"]),
        (
            ["--from", "beginning", "--to", f"@{stamps[4]}"],
            ["-o", "beginning", "-o", f"e@{stamps[4]}"],
        ),
    ]
    for ours, theirs in cases:
        result = run_cli(
            "consume", topic_name, *ours, *(["-e"] if "--to" not in ours else []), *fmt
        )
        assert result.returncode == 0, (ours, result.stderr.decode())
        expected = kcat(brokers, "-C", "-t", topic_name, *theirs, "-e", "-q", "-f", "%o\n")
        assert result.stdout == expected, (ours, theirs)
    window = run_cli("consume", topic_name, "--from", "1", "--to", "4", *fmt)
    assert window.stdout == b"1\n2\n3\n", "--to OFFSET stops before that offset"


def test_partition_choice_and_filters(run_cli, admin, brokers, topic_name):
    fill(admin, brokers, topic_name, partitions=2, n=6)
    only_one = run_cli("consume", topic_name, "-e", "-p", "1", "-f", "{partition}\\n")
    assert only_one.stdout == b"1\n" * 6
    by_key = lines(run_cli("consume", topic_name, "-e", "-p", "0", "--key", "k1"))
    assert [json.loads(r["payload"])["i"] for r in by_key] == [1, 3, 5]
    counted = run_cli(
        "consume", topic_name, "-e", "-p", "0", "--key", "k1", "--exec", "true", "--json"
    )
    assert counted.returncode == 0, counted.stderr.decode()
    metrics = json.loads(counted.stdout)["metrics"]
    assert (metrics["filtered"], metrics["processed"]) == (3, 3)
    by_header = run_cli(
        "consume", topic_name, "-e", "-p", "0", "--header", "h=4", "-f", "{value}\\n"
    )
    assert by_header.stdout == b'{"i":4,"p":0}\n'
    grep = run_cli("consume", topic_name, "-e", "--grep", '"i":[02]', "-f", "{partition}{value}\\n")
    assert sorted(grep.stdout.splitlines()) == sorted(
        f'{p}{{"i":{i},"p":{p}}}'.encode() for p in (0, 1) for i in (0, 2)
    )


def test_formats_match_kcat_byte_for_byte(run_cli, admin, brokers, topic_name):
    fill(admin, brokers, topic_name)
    ours = run_cli(
        "consume",
        topic_name,
        "-e",
        "-f",
        "{topic}|{partition}|{offset}|{ts}|{key}|{value}|{headers}\\n",
    )
    theirs = kcat(brokers, "-C", "-t", topic_name, "-e", "-q", "-f", "%t|%p|%o|%T|%k|%s|%h\n")
    assert ours.returncode == 0, ours.stderr.decode()
    assert ours.stdout == theirs
    value = run_cli("consume", topic_name, "-e", "-f", "value")
    assert value.stdout == kcat(brokers, "-C", "-t", topic_name, "-e", "-q")
    key_value = run_cli("consume", topic_name, "-e", "-f", "key-value", "-K", "=")
    assert key_value.stdout == kcat(brokers, "-C", "-t", topic_name, "-e", "-q", "-K", "=")


def test_on_failure_stop_and_skip(run_cli, admin, brokers, topic_name):
    fill(admin, brokers, topic_name, n=4)
    stop = run_cli("consume", topic_name, "-e", "--exec", 'test "$KAFKA_OFFSET" != 2')
    assert stop.returncode == 1
    err = stop.stderr.decode()
    assert f"{topic_name}[0]@2" in err and "Traceback" not in err
    skip = run_cli(
        "consume",
        topic_name,
        "-e",
        "--on-failure",
        "skip",
        "--exec",
        'test "$KAFKA_OFFSET" != 2',
        "--json",
    )
    assert skip.returncode == 0, skip.stderr.decode()
    metrics = json.loads(skip.stdout)["metrics"]
    assert (metrics["processed"], metrics["skipped"]) == (3, 1)
    dlq = run_cli("consume", topic_name, "-e", "--on-failure", "dlq", "--exec", "true")
    assert dlq.returncode == 2 and "group" in dlq.stderr.decode()


def test_group_mode_missing_dlq_hint_really_creates_it(run_cli, admin, brokers, topic_name):
    fill(admin, brokers, topic_name, n=2)
    # A handler that can fail needs the DLQ (the printer needs none: issue 22).
    consume = ("consume", topic_name, "-g", "gm", "-e", "--no-retry", "--exec", "true")
    missing = run_cli(*consume)
    assert missing.returncode == 1
    hint = missing.stderr.decode().split("create them with: ", 1)[1].split("\n", 1)[0].strip()
    argv = hint.split()
    assert argv[0] == "kafkactl"
    created = run_cli(*argv[1:])
    assert created.returncode == 0, created.stderr.decode()
    again = run_cli(*consume, "--json")
    assert again.returncode == 0, again.stderr.decode()
    assert json.loads(again.stdout)["metrics"]["processed"] == 2


def test_quiet_means_only_warnings_and_errors(run_cli, admin, brokers, topic_name):
    fill(admin, brokers, topic_name, n=2)
    made = run_cli("create-topics", topic_name, "-g", "qg", "-p", "1", "-q")
    assert made.returncode == 0 and made.stderr == b"", made.stderr.decode()
    for args in (["-e"], ["-g", "qg", "-e"], ["-g", "qg", "-e", "--exec", "true"]):
        result = run_cli("consume", topic_name, *args, "-q")
        assert result.returncode == 0, result.stderr.decode()
        assert result.stderr == b"", (args, result.stderr.decode())
    listed = run_cli("topics", "list", "-q")
    assert listed.returncode == 0 and listed.stderr == b"" and listed.stdout == b""
