"""Bootstrapping a librdkafka client: a metadata request proves the connection."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from kafkactl.config import Settings
from kafkactl.kafka import preflight
from kafkactl.kafka.connect import RetryConnect, attempt_timeout, connect_with_backoff

T = TypeVar("T")


class LibrdkafkaError(Exception):
    """A librdkafka error as an exception: its name and reason, e.g. `_MSG_TIMED_OUT: ...`."""

    def __init__(self, error: Any) -> None:
        self.code = error.code()
        self.name = error.name()
        self.retriable = bool(error.retriable())
        super().__init__(f"{self.name}: {error.str()}")


def connect(
    settings: Settings,
    factory: Callable[[Callable[[Any], None]], T],
    close: Callable[[T], None],
    what: str,
) -> T:
    """Build a client with backoff and ask it for metadata; exit 3 past the connect timeout.

    `factory(error_cb)` builds the client; global errors it reports while bootstrapping (the
    real cause of a failed attempt) go to `error_cb`.
    """
    from confluent_kafka import KafkaError, KafkaException

    brokers = ",".join(settings.brokers)

    attempt_s = attempt_timeout(settings)

    def attempt(remaining: float) -> T:
        seen: list[Any] = []
        client = factory(seen.append)
        try:
            client.list_topics(timeout=min(attempt_s, remaining))  # type: ignore[attr-defined]
        except KafkaException as exc:
            with contextlib.suppress(Exception):
                close(client)
            errors = [*seen, exc.args[0]]
            for err in errors:
                if err.code() == KafkaError._AUTHENTICATION:
                    raise preflight.SecurityProblem(
                        preflight.auth_failed_message(settings, brokers, err.str())
                    ) from None
            causes = [e.str() for e in seen] or [exc.args[0].str()]
            raise RetryConnect(causes[-1], LibrdkafkaError(exc.args[0])) from None
        return client

    return connect_with_backoff(settings, attempt, what)
