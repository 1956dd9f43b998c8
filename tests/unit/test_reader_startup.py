"""The start of a read (kafkactl.consumer.startup): the consumer connects on its own thread while
the admin client resolves the offsets, only once the bootstrap servers answered; a failure on
either side is the one reported, and a consumer made for nothing is closed."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kafkactl.consumer import startup
from kafkactl.consumer.reader import ReadOptions, TopicReader
from kafkactl.errors import KafkactlError
from kafkactl.positions import Position
from tests.fakes import FakeCluster
from tests.unit.test_reader import SETTINGS, Collect, cluster_with


class Connects:
    """connect_consumer wrappers that note where the consumer was made, and what came of it."""

    def __init__(self, cluster: FakeCluster, fail: BaseException | None = None) -> None:
        self.cluster = cluster
        self.fail = fail
        self.threads: list[str] = []
        self.made: list[Any] = []
        self.admin_done = threading.Event()

    def consumer(self, *args: Any, **kwargs: Any) -> Any:
        self.threads.append(threading.current_thread().name)
        if self.fail is not None:
            raise self.fail
        consumer = self.cluster.connect_consumer(*args, **kwargs)
        self.made.append(consumer)
        return consumer

    def admin(self, settings: Any) -> Any:
        admin = self.cluster.connect_admin(settings)
        self.admin_done.set()
        return admin


def _read(connects: Connects, **options: Any) -> Any:
    reader = TopicReader(
        SETTINGS,
        ReadOptions(topics=["t"], stop=Position("end"), poll_timeout_s=0.01, **options),
        Collect(),
        connect_consumer=connects.consumer,
        connect_cluster=connects.admin,
    )
    return reader, reader.run()


@pytest.fixture
def answering(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(startup, "_answers", lambda _settings: True)


def test_the_consumer_connects_on_its_own_thread_once_the_brokers_answer(answering) -> None:
    connects = Connects(cluster_with())
    reader, summary = _read(connects)
    assert connects.threads == ["kafkactl-connect"]
    assert sorted(reader.handler.seen) == [(p, o) for p in (0, 1) for o in range(5)]
    assert summary.stopped_by == "end" and connects.made[0].closed


def test_without_an_answer_the_clients_connect_one_after_the_other(monkeypatch) -> None:
    monkeypatch.setattr(startup, "_answers", lambda _settings: False)
    connects = Connects(cluster_with())
    reader, _summary = _read(connects)
    assert connects.threads == [threading.current_thread().name]
    assert len(reader.handler.seen) == 10


def test_a_failed_admin_step_closes_the_consumer_made_meanwhile(answering) -> None:
    connects = Connects(FakeCluster())  # no topic "t"
    with pytest.raises(KafkactlError, match="does not exist"):
        _read(connects)
    assert connects.threads == ["kafkactl-connect"] and connects.made[0].closed


def test_a_failed_consumer_connect_is_the_error_reported(answering) -> None:
    connects = Connects(cluster_with(), fail=KafkactlError("cannot reach Kafka"))
    with pytest.raises(KafkactlError, match="cannot reach Kafka"):
        _read(connects)
    assert connects.admin_done.is_set()


def test_start_probes_first_and_gets_what_the_thread_made(monkeypatch) -> None:
    probed: list[object] = []
    monkeypatch.setattr(startup, "_answers", lambda settings: probed.append(settings) or False)
    assert startup.EarlyConsumer.start(SETTINGS, lambda: pytest.fail("connected")) is None
    assert probed == [SETTINGS]
    made = object()
    early = startup.EarlyConsumer.start(SETTINGS, lambda: made, probe=False)  # type: ignore[arg-type, return-value]
    assert early is not None and early.get() is made


def test_a_probe_that_raises_means_no_answer(monkeypatch) -> None:
    from kafkactl.kafka import preflight

    def refuse(_settings: Any, _timeout: float) -> None:
        raise preflight.NoAnswer("refused")

    monkeypatch.setattr(preflight, "check", refuse)
    assert startup._answers(SETTINGS) is False
