"""Running confluent-kafka admin requests: futures waited for, a cluster in flux asked again up to
the connect timeout (then one line, exit 3), and librdkafka's error names spelled as Kafka's
(and kafka-python's) exception classes, so messages read the same on both engines."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

from loguru import logger

from kafkactl.errors import ConnectError
from kafkactl.kafka.admin_port import AdminError

K = TypeVar("K", bound=Hashable)

# Kafka protocol codes whose class name is not the CamelCase of librdkafka's name.
_CLASS_NAMES = {
    3: "UnknownTopicOrPartitionError",
    15: "CoordinatorNotAvailableError",
    16: "NotCoordinatorError",
    40: "InvalidConfigurationError",
    68: "GroupNotEmptyError",
}
# Kafka protocol codes of a cluster in flux (a leader or coordinator moving, a node away):
# retriable in Kafka's own table, whatever flag librdkafka sets on the error it hands over.
_IN_FLUX = frozenset({5, 6, 7, 13, 14, 15, 16, 41, 56, 74, 75})
# librdkafka's own (negative) codes meaning the request never got an answer.
_LOCAL_TRANSIENT = frozenset(
    {"_TRANSPORT", "_TIMED_OUT", "_ALL_BROKERS_DOWN", "_WAIT_COORD", "_RESOLVE", "_NODE_UPDATE"}
)
UNKNOWN_TOPIC_OR_PARTITION = 3
GROUP_ID_NOT_FOUND = 69


def error_name(error: Any) -> str:
    """A KafkaError's name as Kafka's exception class (e.g. GroupNotEmptyError)."""
    code, name = int(error.code()), str(error.name())
    if code in _CLASS_NAMES:
        return _CLASS_NAMES[code]
    if name.startswith("_") or code < 0:
        return name
    return "".join(part.capitalize() for part in name.split("_")) + "Error"


def error_text(error: Any) -> str:
    """`ErrorName: reason` of a KafkaError (the reason left out when it only repeats the name)."""
    reason = str(error.str() or "").removeprefix("Broker: ")
    name = error_name(error)
    return f"{name}: {reason}" if reason else name


def is_transient(error: Any) -> bool:
    """True when the cluster may answer if asked again (a node away, a leader moving)."""
    code = int(error.code())
    if code in (UNKNOWN_TOPIC_OR_PARTITION, GROUP_ID_NOT_FOUND):
        return False  # answers, not a cluster in flux
    return code in _IN_FLUX or bool(error.retriable()) or str(error.name()) in _LOCAL_TRANSIENT


def kafka_error(exc: BaseException) -> Any | None:
    """The KafkaError a confluent-kafka exception carries (None: not a Kafka error)."""
    from confluent_kafka import KafkaError, KafkaException

    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    return None


ATTEMPT_S = 8.0  # the longest one admin request may take before it is sent again
STEER_TRIES = 4  # metadata asked at most this often for a controller that takes connections
PROBE_S = 0.5  # the longest a broker may take to accept a connection when checked


def takes_connections(host: str, port: int) -> bool:
    """True when host:port accepts a TCP connection within PROBE_S (closed at once, unused)."""
    try:
        with socket.create_connection((host, port), timeout=PROBE_S):
            return True
    except OSError:
        return False


class AdminCalls:
    """Waiting for an AdminClient's futures, with the retry rule of DESIGN §3.5."""

    def __init__(
        self, client: Any, retry_for: float, probe: Callable[[str, int], bool] = takes_connections
    ) -> None:
        self._client = client
        self._retry_for = retry_for
        self._probe = probe
        self._answering: int | None = None  # the broker that answered our last metadata request
        self._asked = False

    def gather(
        self,
        submit: Callable[[float], dict[K, Future[Any]]],
        retry_for: float | None = None,
        to_controller: bool = False,
    ) -> dict[K, Any]:
        """Submit a request (given the seconds it may take) and wait for every future.

        Each key maps to its result, or to the KafkaError the cluster answered for it. While
        some answer is transient the whole request is sent again, until `retry_for` (default:
        the connect timeout) is spent: then the cluster is unreachable (ConnectError, exit 3).
        `to_controller`: librdkafka sends the request to the node its metadata names as
        controller (see `steer`).
        """
        patience = self._retry_for if retry_for is None else retry_for
        deadline = time.monotonic() + patience
        pause = 0.2
        while True:
            # One attempt gets at most ATTEMPT_S: librdkafka sends some requests to the node its
            # metadata names as controller, and waits for that node for the whole request timeout
            # even when it has just died; asked again, it asks the node that took over.
            if to_controller:
                self.steer()
            remaining = min(max(deadline - time.monotonic(), 0.5), ATTEMPT_S)
            self._client.poll(0)  # serves the OAUTHBEARER token refresh and the log queue
            out: dict[K, Any] = {}
            transient = None
            try:
                futures = submit(remaining)
            except Exception as exc:  # a synchronous request (list_topics) raises at once
                error = kafka_error(exc)
                if error is None or not is_transient(error):
                    raise
                futures, transient = {}, error_text(error)
            for key, future in futures.items():
                try:
                    out[key] = future.result(timeout=remaining + 5.0)
                except TimeoutError:
                    transient = f"no answer within {remaining:.0f}s"
                except Exception as exc:
                    error = kafka_error(exc)
                    if error is None:
                        raise
                    if is_transient(error):
                        transient = error_text(error)
                    out[key] = error
            if transient is None:
                return out
            if time.monotonic() + pause > deadline:
                raise ConnectError(
                    f"the cluster did not answer an admin request within {patience:g}s "
                    f"({transient}); check that its brokers are up (kafkactl health)"
                )
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
            if not to_controller:  # else steer asks for metadata
                self._refresh_metadata()

    def steer(self) -> None:
        """Ask for metadata until the node it names as controller takes connections.

        A KRaft broker names as controller any broker it thinks alive, a node killed seconds
        ago included (until the controller fences it); librdkafka sends describe, create and
        delete requests there and, while that node refuses connections, reconnects to it in a
        busy loop until the request times out (a core for up to ATTEMPT_S; DESIGN §3.5).
        Each metadata answer names one again, at random.
        """
        for _ in range(STEER_TRIES):
            metadata = self._refresh_metadata()
            if metadata is None:
                return
            controller = getattr(metadata, "controller_id", -1)
            node = getattr(metadata, "brokers", {}).get(controller)
            if controller == self._answering or node is None or self._probe(node.host, node.port):
                return
            logger.debug("broker {} (named controller) takes no connections", controller)

    def answering_broker(self) -> dict[str, int]:
        """`broker=` for a config request: a node that has just answered (DESIGN §3.5).

        librdkafka sends config requests for topics to the node its metadata names as
        controller (see `steer`); any broker answers them, as the Java client's least-loaded
        node, so they go to one that does.
        """
        if not self._asked:
            self._refresh_metadata()
        return {} if self._answering is None else {"broker": self._answering}

    def _refresh_metadata(self) -> Any | None:
        """Ask for metadata (None: no answer): librdkafka keeps the controller a dead node was
        until it does, and notes the broker that answered."""
        self._asked = True
        try:
            metadata = self._client.list_topics(timeout=2.0)
        except Exception as exc:  # the next attempt says what is wrong
            logger.debug("metadata refresh before an admin request failed: {}", exc)
            return None
        node = getattr(metadata, "orig_broker_id", -1)
        self._answering = node if isinstance(node, int) and node >= 0 else None
        return metadata

    def one(
        self, what: str, submit: Callable[[float], Future[Any]], to_controller: bool = False
    ) -> Any:
        """A request with a single answer; a refusal is one line (AdminError, exit 1)."""
        answer = self.gather(lambda timeout: {0: submit(timeout)}, to_controller=to_controller)[0]
        if is_error(answer):
            raise AdminError(f"{what}: {error_text(answer)}")
        return answer

    def each(self, what: str, submit: Callable[[float], dict[K, Future[Any]]]) -> dict[K, Any]:
        """A request answered per key; any refusal is one line (AdminError, exit 1)."""
        answers = self.gather(submit)
        for answer in answers.values():
            if is_error(answer):
                raise AdminError(f"{what}: {error_text(answer)}")
        return answers


def is_error(answer: Any) -> bool:
    """True when a gathered answer is a KafkaError rather than a result."""
    from confluent_kafka import KafkaError

    return isinstance(answer, KafkaError)


def rdadmin() -> Any:
    """confluent_kafka.admin (typed Any: its names are not re-exported for mypy)."""
    import confluent_kafka.admin as module

    return module
