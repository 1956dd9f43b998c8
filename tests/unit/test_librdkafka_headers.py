"""librdkafka engine: which header names confluent-kafka writes faithfully, and what a record
whose headers cannot be read again carries instead (it must still flow)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from kafkactl.kafka.librdkafka.headers import HeaderRescuer, writable
from kafkactl.kafka.ports import UNREADABLE_HEADERS


@pytest.mark.parametrize(
    ("name", "ok"),
    [("plain", True), ("é", True), ("", True), ("a\0b", False), ("\udcff\udcfe", False)],
)
def test_confluent_writes_only_utf8_names_without_nul(name: str, ok: bool) -> None:
    assert writable([("x", b""), (name, b"v")]) is ok


class Message:
    def topic(self) -> str:
        return "t"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 7


def test_rescued_headers_are_the_kafka_python_readers() -> None:
    rescuer = HeaderRescuer(SimpleNamespace(), False)  # type: ignore[arg-type]
    asked: list[Any] = []

    def rescue(*at: Any) -> Any:
        asked.append(at)
        return [("\udcff", b"v")]

    rescuer._rescue = SimpleNamespace(headers=rescue, close=lambda: None)
    assert rescuer.headers(Message()) == [("\udcff", b"v")]
    assert asked == [("t", 0, 7)] and rescuer.rescued == 1


def test_a_record_whose_headers_cannot_be_read_flows_with_a_marker() -> None:
    rescuer = HeaderRescuer(SimpleNamespace(), False)  # type: ignore[arg-type]

    def fail(*_: Any) -> Any:
        raise TimeoutError("not read within 10 s")

    rescuer._rescue = SimpleNamespace(headers=fail, close=lambda: None)
    assert rescuer.headers(Message()) == [
        (UNREADABLE_HEADERS, b"TimeoutError: not read within 10 s")
    ]
    assert rescuer.lost == 1
