"""The kafka-python 3.0 fetcher workaround: a spent in-line slot is released, a live one kept."""

from types import SimpleNamespace

from kafkactl.kafka.kafka_python.compat import release_drained_records


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
