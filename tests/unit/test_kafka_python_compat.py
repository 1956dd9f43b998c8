"""kafka-python 3.0 workarounds: a spent fetcher slot is released; lag is read locally."""

from types import SimpleNamespace

from kafkactl.kafka.kafka_python.compat import known_lag, release_drained_records


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
