"""Issue 22, case 4 against the real broker, on both engines: header NAMES of any bytes.

kcat writes them (`-H $'\\xff\\xfe=v'`); kafkactl must print them (base64 with
`header_names_encoding`), copy them byte for byte (produce --format envelope, retry/DLQ copies,
replay) and never stall a group on them. kcat's `%h` (the names' raw bytes) is the
independent reader. Every process runs in its own session under a hard timeout.
"""

from __future__ import annotations

import base64
import json
import uuid

from tests.integration.hostile_cases import assert_clean, assert_one_error, kafkactl, shell
from tests.integration.kafka_helpers import committed_and_end, fully_committed, kcat, produce

# Not UTF-8: an invalid start byte, a lone continuation byte, an overlong NUL, an encoded
# surrogate; and two valid but odd ones: the empty name, a name with a control byte.
POISON = [b"\xff\xfe", b"\x80", b"\xc0\x80", b"\xed\xa0\x80", b"", b"tab\there"]
PER_NAME = 30  # records written per poison name (one kcat run each)


def _uid() -> str:
    return uuid.uuid4().hex[:10]


def _write_poison(brokers: str, topic: str, clean: int = 5) -> int:
    """PER_NAME records per poison name (plus an ordinary header), then `clean` plain ones."""
    for i, name in enumerate(POISON):
        values = [b"v%d-%d" % (i, n) for n in range(PER_NAME)]
        if name:
            header = name + b"=v"
            kcat(brokers, "-P", "-t", topic, "-H", header, "-H", "ok=1", data=b"\n".join(values))  # type: ignore[arg-type]
        else:  # kcat -H refuses an empty name: stock kafka-python writes it
            produce(brokers, topic, [(None, v, [("", b"v"), ("ok", b"1")]) for v in values])
    kcat(brokers, "-P", "-t", topic, data=b"".join(b"plain-%d\n" % n for n in range(clean)))
    return PER_NAME * len(POISON) + clean


def _raw_headers(brokers: str, topic: str) -> list[tuple[bytes, bytes]]:
    """(raw %h, value) per record as kcat reads them, in partition/offset order."""
    out = kcat(brokers, "-C", "-t", topic, "-e", "-q", "-f", "%p\\x1f%o\\x1f%h\\x1f%s\\x1e")
    rows = []
    for chunk in out.split(b"\x1e"):
        if chunk:
            p, o, h, v = chunk.split(b"\x1f", 3)
            rows.append((int(p), int(o), h, v))
    return [(h, v) for _, _, h, v in sorted(rows)]


def _create(env: dict, *args: str) -> None:
    ran = kafkactl("create-topics", *args, "--partitions", "1", "-q", env=env, timeout=60)
    assert ran.returncode == 0, ran


def _assert_copies(
    original: list[tuple[bytes, bytes]], copies: list[tuple[bytes, bytes]], added: bool = True
) -> None:
    """Each copy (matched by its value) starts with its record's headers byte for byte, then
    the headers kafkactl adds at a failure (message-id first); a produced copy (`added`
    False) has exactly the record's headers: produce adds no message-id unless asked."""
    by_value = dict((v, h) for h, v in original)
    assert sorted(v for _, v in copies) == sorted(by_value)
    for h, v in copies:
        own = by_value[v]
        if not added:
            assert h == own, (own, h)
            continue
        assert h.startswith(own + b",message-id=" if own else b"message-id="), (own, h)


def test_reader_prints_names_of_any_bytes_and_its_envelope_copies_them_exactly(
    brokers: str, cli_env: dict
):
    source, copy = f"hh-src-{_uid()}", f"hh-copy-{_uid()}"
    _create(cli_env, source, copy, "--no-retry")
    total = _write_poison(brokers, source)

    ran = kafkactl("consume", source, "-e", "-q", env=cli_env, timeout=90)
    assert ran.returncode == 0, ran
    assert_clean(ran)
    lines = [json.loads(line) for line in ran.stdout.splitlines()]
    assert len(lines) == total
    names = []
    for doc in lines:
        flat = doc["headers"]
        if doc.get("header_names_encoding") == "base64":
            names.append(base64.b64decode(flat[0]) if flat else None)
        else:
            names.append(flat[0].encode() if flat else None)
    expected = [name for name in POISON for _ in range(PER_NAME)] + [None] * 5
    assert names == expected

    # The template's {headers} is kcat's %h, byte for byte.
    ran = kafkactl("consume", source, "-e", "-q", "-f", "{headers}|{value}\\x1e", env=cli_env)
    assert ran.returncode == 0, ran
    expected_lines = [h + b"|" + v for h, v in _raw_headers(brokers, source)]
    assert ran.stdout.split(b"\x1e")[:-1] == expected_lines

    piped = shell(
        f"KCTL consume {source} -e -q | KCTL produce {copy} --format envelope -q",
        env=cli_env,
        timeout=120,
    )
    assert piped.returncode == 0, piped
    assert_clean(piped)
    _assert_copies(_raw_headers(brokers, source), _raw_headers(brokers, copy), added=False)

    # kcat -J writes a name's bytes raw into its JSON: produce reads them back exactly too.
    from_kcat = f"hh-kcat-{_uid()}"
    _create(cli_env, from_kcat, "--no-retry")
    piped = shell(
        f"kcat -b {brokers} -C -t {source} -e -q -J | "
        f"KCTL produce {from_kcat} --format envelope -q",
        env=cli_env,
        timeout=120,
    )
    assert piped.returncode == 0, piped
    _assert_copies(_raw_headers(brokers, source), _raw_headers(brokers, from_kcat), added=False)


def test_group_dead_letters_keep_name_bytes_commit_past_them_and_replay_them(
    brokers: str, cli_env: dict
):
    topic, group = f"hh-{_uid()}", f"hh-g-{_uid()}"
    dlq = f"{topic}.{group}.dlq"
    _create(cli_env, topic, "-g", group, "--no-retry")
    total = _write_poison(brokers, topic)
    original = _raw_headers(brokers, topic)

    # Every record fails alike: to the breaker an outage (it would hold them); off, they are
    # dead-lettered as this test wants.
    ran = kafkactl(
        "consume", topic, "-g", group, "--exec", "exit 1", "--no-retry", "-e", "-q",
        "--breaker", "off", env=cli_env, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran
    assert_clean(ran)
    assert fully_committed(committed_and_end(brokers, group, [topic]))
    dead = _raw_headers(brokers, dlq)
    assert len(dead) == total
    _assert_copies(original, dead)

    summary = kafkactl("dlq", "summary", topic, "-g", group, "--json", env=cli_env, timeout=60)
    assert summary.returncode == 0, summary
    assert_clean(summary)
    assert str(total) in summary.out

    health = kafkactl("health", "-t", topic, "-g", group, env=cli_env, timeout=60)
    assert health.returncode in (0, 1), health  # unhealthy (dead letters waiting), not stuck
    assert_clean(health)

    replay = kafkactl(
        "replay-dlq", topic, "-g", group, "--to", "original", "--yes", "-q",
        env=cli_env, timeout=120,
    )  # fmt: skip
    assert replay.returncode == 0, replay
    assert_clean(replay)
    after = _raw_headers(brokers, topic)
    assert len(after) == 2 * total
    replayed = [row for row in after if row not in original]
    _assert_copies(original, replayed)


def test_a_bad_template_escape_is_one_usage_line(cli_env: dict):
    for template, shown in (("\\x4", "'\\x4'"), ("{value}\\xZZ", "'\\xZZ'")):
        ran = kafkactl("consume", "any-topic", "-e", "-f", template, env=cli_env, timeout=30)
        assert ran.returncode == 2, ran
        assert_one_error(ran, ["bad escape " + shown, "two hex digits"])
