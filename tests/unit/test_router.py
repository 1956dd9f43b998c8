"""RetryRouter decisions per tier and error kind, and publish-retry until acknowledged."""

from kafkactl import headers as hdr
from kafkactl.config import load_settings
from kafkactl.consumer.router import RetryRouter
from kafkactl.headers import Failure
from kafkactl.message import Message
from kafkactl.metrics import Metrics
from kafkactl.producer import Delivery
from kafkactl.topology import TierMap

SETTINGS = load_settings(env={"KAFKA_RETRY_DELAYS": "1s,10s"})
RETRYABLE = Failure("retryable", "ValueError", "x")


class FakePublisher:
    """Records publishes; fails the first `failures` of them."""

    def __init__(self, failures=0):
        self.sent = []
        self.failures = failures

    def publish(self, topic, value, key=None, headers=None, on_delivery=None, **_):
        self.sent.append((topic, value, key, headers))
        if self.failures:
            self.failures -= 1
            on_delivery(Delivery(topic, None, None, RuntimeError("broker down")))
        else:
            on_delivery(Delivery(topic, 0, len(self.sent)))


def _router(no_retry=False, publisher=None):
    tiers = TierMap(SETTINGS, ["orders"], "billing")
    return RetryRouter(
        tiers, publisher or FakePublisher(), Metrics(), no_retry, clock=lambda: 100.0
    )


def _msg(topic="orders", attempt=1):
    return Message(topic, 0, 5, b"k", b"v", [("h", b"1")], 7, 0, "id-1", attempt)


def test_tier_map_names():
    tiers = TierMap(SETTINGS, ["orders"], "billing")
    assert tiers.subscribed() == ["orders", "orders.billing.retry.1", "orders.billing.retry.2"]
    assert tiers.dlq("orders") == "orders.billing.dlq"
    assert tiers.role("orders.billing.retry.2").tier == 2


def test_main_topic_failure_goes_to_tier_one_due_after_first_delay():
    route = _router().decide(_msg(), RETRYABLE, now_ms=100_000)
    assert (route.topic, route.tier, route.not_before_ms) == ("orders.billing.retry.1", 1, 101_000)


def test_tier_n_goes_to_tier_n_plus_one():
    route = _router().decide(_msg("orders.billing.retry.1", 2), RETRYABLE, now_ms=0)
    assert (route.topic, route.tier, route.not_before_ms) == ("orders.billing.retry.2", 2, 10_000)


def test_last_tier_goes_to_dlq():
    route = _router().decide(_msg("orders.billing.retry.2", 3), RETRYABLE, now_ms=0)
    assert (route.topic, route.tier, route.not_before_ms) == ("orders.billing.dlq", None, None)


def test_fatal_and_decode_go_straight_to_dlq():
    for kind in ("fatal", "decode"):
        route = _router().decide(_msg(), Failure(kind, "E", "x"), now_ms=0)
        assert route.topic == "orders.billing.dlq"


def test_timeout_is_retried():
    route = _router().decide(_msg(), Failure("timeout", "timeout", "slow"), now_ms=0)
    assert route.tier == 1


def test_no_retry_goes_to_dlq():
    route = _router(no_retry=True).decide(_msg(), RETRYABLE, now_ms=0)
    assert route.topic == "orders.billing.dlq"


def test_route_keeps_key_value_and_headers_and_acks():
    publisher = FakePublisher()
    router = _router(publisher=publisher)
    acked = []
    router.route(_msg(), RETRYABLE, lambda: acked.append(True))
    [(topic, value, key, headers)] = publisher.sent
    assert (topic, value, key) == ("orders.billing.retry.1", b"v", b"k")
    assert ("h", b"1") in headers
    assert acked == [True]
    assert router.metrics.snapshot()["by_label"]["retried"] == {"1": 1}


def test_failed_publish_is_retried_and_not_acked_until_it_lands(monkeypatch):
    publisher = FakePublisher(failures=1)
    router = _router(publisher=publisher)
    acked = []
    router.route(_msg(), RETRYABLE, lambda: acked.append(True))
    assert acked == [] and router.waiting == 1
    import kafkactl.consumer.router as router_module

    clock = [router_module.time.monotonic() + 60]
    monkeypatch.setattr(router_module.time, "monotonic", lambda: clock[0])
    router.tick()
    assert acked == [True]
    assert router.waiting == 0
    assert len(publisher.sent) == 2


class _Refused(Exception):
    retriable = False


class RefusingPublisher(FakePublisher):
    """Refuses every publish with a non-retriable error."""

    def publish(self, topic, value, key=None, headers=None, on_delivery=None, **_):
        self.sent.append((topic, value, key, headers))
        on_delivery(Delivery(topic, None, None, _Refused("TOPIC_AUTHORIZATION_FAILED")))


def test_a_copy_refused_for_good_is_tried_once_shrunk_then_reported_not_retried():
    publisher = RefusingPublisher()
    router = _router(publisher=publisher)
    failure = Failure("retryable", "ValueError", "x" * 1000, "trace " * 500)
    acked, refused = [], []
    router.route(_msg(), failure, lambda: acked.append(1), lambda r, e: refused.append((r, e)))
    # The shrunk copy goes out from the next tick, never from inside the delivery report.
    assert len(publisher.sent) == 1 and refused == []
    router.tick()
    assert acked == [] and len(refused) == 1
    route, error = refused[0]
    assert route.topic == "orders.billing.retry.1" and isinstance(error, _Refused)
    assert len(publisher.sent) == 2
    first, second = publisher.sent[0][3], publisher.sent[1][3]
    assert any(k == "kafkactl.error.trace" for k, _ in first)
    assert not any(k == "kafkactl.error.trace" for k, _ in second)
    assert router.waiting == 0
    assert router.metrics.get("undeliverable") == 1


def test_a_copy_over_the_topics_limit_is_shrunk_before_it_is_sent():
    publisher = FakePublisher()
    tiers = TierMap(SETTINGS, ["orders"], "billing")
    router = RetryRouter(tiers, publisher, Metrics(), size_limit=lambda topic: 600)
    failure = Failure("retryable", "ValueError", "x" * 1000, "trace " * 500)
    router.route(_msg(), failure, lambda: None)
    [(_topic, _value, _key, headers)] = publisher.sent
    assert not any(k == "kafkactl.error.trace" for k, _ in headers)


def test_an_engine_that_raises_on_publish_is_retried_like_a_failed_delivery(monkeypatch):
    class Raising(FakePublisher):
        def publish(self, topic, value, key=None, headers=None, on_delivery=None, **_):
            self.sent.append(topic)
            if len(self.sent) == 1:
                raise RuntimeError("engine hiccup")
            on_delivery(Delivery(topic, 0, 1))

    router = _router(publisher=Raising())
    acked = []
    router.route(_msg(), RETRYABLE, lambda: acked.append(1))
    assert acked == [] and router.waiting == 1
    monkeypatch.setattr("kafkactl.consumer.router.time.monotonic", lambda: 10**9)
    router.tick()
    assert acked == [1]


class HeldPublisher:
    """Records publishes (with their partition) and acknowledges them only when told."""

    def __init__(self):
        self.sent = []
        self._callbacks = []

    def publish(self, topic, value, key=None, headers=None, on_delivery=None, partition=None, **_):
        self.sent.append((topic, value, partition, headers))
        self._callbacks.append((topic, on_delivery))

    def ack(self, index):
        topic, callback = self._callbacks[index]
        callback(Delivery(topic, 3, 40 + index))


def _strict_router(publisher):
    tiers = TierMap(SETTINGS, ["orders"], "billing")
    return RetryRouter(tiers, publisher, Metrics(), clock=lambda: 100.0, strict=True)


def test_strict_copies_keep_their_partition_and_wait_for_their_keys_copies_in_flight():
    publisher = HeldPublisher()
    router = _strict_router(publisher)
    placed, acked = [], []
    blocker = Message("orders", 3, 5, b"k", b"first", [], 7, 0, "id-5", 1)
    follower = Message("orders", 3, 6, b"k", b"second", [], 7, 0, "id-6", 1)
    other = Message("orders", 3, 7, b"other", b"third", [], 7, 0, "id-7", 1)

    router.route(blocker, RETRYABLE, lambda: acked.append(5), on_placed=placed.append)
    router.follow(follower, 1, "id-5", lambda: acked.append(6), print, placed.append)
    router.follow(other, 1, "id-5", lambda: acked.append(7), print, placed.append)

    # The follower of the same key waits for the first copy's ack; another key does not.
    assert [(t, v, p) for t, v, p, _ in publisher.sent] == [
        ("orders.billing.retry.1", b"first", 3),
        ("orders.billing.retry.1", b"third", 3),
    ]
    publisher.ack(0)
    assert placed == [40] and acked == [5]
    router.tick()  # the next copy of the key goes out from the poll thread
    assert publisher.sent[-1][1] == b"second"
    headers = dict(publisher.sent[-1][3])
    assert headers[hdr.FOLLOWS] == b"id-5"
    assert headers[hdr.NOT_BEFORE] == b"100000"  # due at once: it is behind its blocker anyway
    assert hdr.ERROR_CLASS not in headers


def test_a_follower_sent_to_the_dlq_says_whom_it_follows():
    publisher = HeldPublisher()
    router = _strict_router(publisher)
    follower = Message("orders.billing.retry.1", 0, 6, b"k", b"v", [], 7, 0, "id-6", 1)

    route = router.follow(follower, None, "id-5", lambda: None, print, lambda offset: None)

    assert route.topic == "orders.billing.dlq"
    headers = dict(publisher.sent[0][3])
    assert headers[hdr.FOLLOWS] == b"id-5"
    assert headers[hdr.ERROR_CLASS] == hdr.FOLLOWER_CLASS.encode()
    assert hdr.NOT_BEFORE not in headers
