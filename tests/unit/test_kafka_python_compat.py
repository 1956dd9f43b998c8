"""kafka-python 3.0 workarounds: a spent fetcher slot is released; lag is read locally;
header names of any bytes are read and written byte for byte; a join a poll gave up on is
finished (tests/integration/test_lease_membership.py proves it against the broker)."""

from types import SimpleNamespace

import pytest

from kafkactl.kafka.kafka_python import lease as lease_module
from kafkactl.kafka.kafka_python.compat import (
    finish_join,
    known_lag,
    read_any_header_names,
    release_drained_records,
    wire_headers,
)
from kafkactl.kafka.ports import header_name, header_name_bytes, is_raw_name


class Records:
    def __init__(self, live: bool) -> None:
        self.live = live

    def __bool__(self) -> bool:
        return self.live


def test_spent_records_are_released():
    consumer = SimpleNamespace(_fetcher=SimpleNamespace(_next_partition_records=Records(False)))
    release_drained_records(consumer)
    assert consumer._fetcher._next_partition_records is None


def test_live_records_are_kept():
    live = Records(True)
    consumer = SimpleNamespace(_fetcher=SimpleNamespace(_next_partition_records=live))
    release_drained_records(consumer)
    assert consumer._fetcher._next_partition_records is live


def test_an_empty_slot_stays_empty():
    fetcher = SimpleNamespace(_next_partition_records=None)
    release_drained_records(SimpleNamespace(_fetcher=fetcher))
    assert vars(fetcher) == {"_next_partition_records": None}


def test_a_consumer_without_the_private_fetcher_is_left_alone():
    # Another kafka-python version may not have them: nothing is added, nothing raises.
    consumer = SimpleNamespace()
    release_drained_records(consumer)
    assert vars(consumer) == {}
    fetcher = SimpleNamespace()
    release_drained_records(SimpleNamespace(_fetcher=fetcher))
    assert vars(fetcher) == {}


def _consumer_with(position: object, highwater: object) -> SimpleNamespace:
    state = SimpleNamespace(position=position, highwater=highwater)
    return SimpleNamespace(_subscription=SimpleNamespace(assignment={"tp": state}))


def test_known_lag_is_the_highwater_minus_the_position() -> None:
    position = SimpleNamespace(offset=120)  # kafka-python keeps an OffsetAndMetadata
    assert known_lag(_consumer_with(position, 500), "tp") == 380
    assert known_lag(_consumer_with(position, 500), "tp", position=450) == 50  # the caller's


def test_known_lag_is_unknown_before_a_fetch_or_a_position() -> None:
    assert known_lag(_consumer_with(SimpleNamespace(offset=3), None), "tp") is None
    assert known_lag(_consumer_with(None, 500), "tp") is None
    assert known_lag(_consumer_with(None, 500), "other") is None  # revoked meanwhile
    assert known_lag(SimpleNamespace(), "tp") is None  # internals not as expected


POISON_NAMES = [b"\xff\xfe", b"\x80", b"\xc0\x80", b"a\x00b", b"", b"\xed\xa0\x80", "é".encode()]


def _batch(headers_per_record: list[list[tuple[str, bytes]]]) -> bytes:
    """A record batch as kafka-python's producer writes it (through wire_headers)."""
    from kafka.record.default_records import DefaultRecordBatchBuilder

    builder = DefaultRecordBatchBuilder(2, 0, False, -1, -1, -1, 1 << 20)
    for offset, headers in enumerate(headers_per_record):
        builder.append(offset, 1700, None, b"v%d" % offset, wire_headers(headers))
    return bytes(builder.build())


def _read(data: bytes) -> list[list[tuple[str, bytes]]]:
    from kafka.record.default_records import DefaultRecordBatch

    return [list(record.headers) for record in DefaultRecordBatch(data)]


def test_header_names_of_any_bytes_are_written_and_read_byte_for_byte():
    read_any_header_names()
    records = [[(header_name(raw), b"x"), ("ok", b"1")] for raw in POISON_NAMES]
    data = _batch([[("plain", b"0")], *records, [("after", b"2")]])
    for raw in POISON_NAMES:  # on the wire as given (zigzag length, name, value), not a repr
        assert bytes([2 * len(raw)]) + raw + b"\x02x" in data
    got = _read(data)
    assert got[0] == [("plain", b"0")] and got[-1] == [("after", b"2")]
    assert [header_name_bytes(h[0][0]) for h in got[1:-1]] == POISON_NAMES
    assert all(h[1] == ("ok", b"1") for h in got[1:-1])


def test_names_read_back_are_counted_by_the_fetcher_without_raising():
    # kafka-python's fetcher encodes every name again (strict UTF-8) to count header bytes.
    read_any_header_names()
    (headers,) = _read(_batch([[(header_name(b"\xff\xfe"), b"x")]]))
    name = headers[0][0]
    assert is_raw_name(name) and len(name.encode("utf-8")) == 2


def test_without_the_workaround_kafka_python_refuses_such_a_name():
    from kafka.errors import CorruptRecordError
    from kafka.record.default_records import DefaultRecordBatch

    read_any_header_names()
    data = _batch([[(header_name(b"\xff"), b"x")]])
    lenient = DefaultRecordBatch._read_msg
    DefaultRecordBatch._read_msg = lenient.__closure__[0].cell_contents  # the original
    try:
        with pytest.raises(CorruptRecordError, match="UnicodeDecodeError"):
            _read(data)
    finally:
        DefaultRecordBatch._read_msg = lenient


def test_wire_headers_leaves_text_names_alone():
    headers = [("a", b"1"), ("é", b"2")]
    assert wire_headers(headers) == headers
    assert all(type(n) is str for n, _ in wire_headers(headers))
    read_any_header_names()
    read_any_header_names()  # idempotent: patched once


class Coordinator:
    """What finish_join reads of kafka-python's group coordinator."""

    def __init__(self, task: object = None, stable: bool = True, joins: bool = True) -> None:
        self._join_task = task
        self._stable = stable
        self._joins = joins
        self.rejoin_needed = False
        self.waited: list[int] = []

    def stable(self) -> bool:
        return self._stable

    def need_rejoin(self) -> bool:
        return self.rejoin_needed

    def request_rejoin(self) -> None:
        self.rejoin_needed = True

    def ensure_active_group(self, timeout_ms: int) -> bool:
        assert self.rejoin_needed, "a round awaited without a reason to rejoin is stranded"
        self.waited.append(timeout_ms)
        return self._joins


def test_a_round_left_in_flight_keeps_its_reason_and_is_waited_for() -> None:
    coordinator = Coordinator(task=object(), stable=False)
    assert finish_join(SimpleNamespace(_coordinator=coordinator), timeout_ms=1234)
    assert coordinator.rejoin_needed and coordinator.waited == [1234]


def test_a_stable_member_is_left_alone() -> None:
    coordinator = Coordinator()
    assert finish_join(SimpleNamespace(_coordinator=coordinator))
    assert coordinator.waited == [] and not coordinator.rejoin_needed


def test_the_lease_is_lost_when_no_round_completes_within_a_session(monkeypatch) -> None:
    coordinator = Coordinator(task=object(), stable=False, joins=False)
    consumer = SimpleNamespace(_coordinator=coordinator, poll=lambda **_: {})
    description = "pid 1 on host-a"
    assignor = SimpleNamespace(leader=description)
    lease = lease_module.GroupLease(consumer, assignor, description)
    now = [100.0]
    monkeypatch.setattr(lease_module.time, "monotonic", lambda: now[0])
    assert lease.keep()  # a rejoin under way: still the holder
    now[0] += lease_module.SESSION_TIMEOUT_MS / 1000 - 1
    assert lease.keep()
    now[0] += 2  # longer than a session without completing: another replay may lead
    assert not lease.keep()
