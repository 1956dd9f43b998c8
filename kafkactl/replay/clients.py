"""The clients of one open replay (DESIGN §9): the admin and the DLQ's consumer from `open()`,
the producer once copies are sent; closed together, the producer after a last flush."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from loguru import logger

from kafkactl.config import Settings
from kafkactl.kafka.admin_port import AdminPort
from kafkactl.kafka.ports import ConsumerPort
from kafkactl.producer import Publisher
from kafkactl.replay.sending import CopySender

# How long closing waits for copies still in flight (they were already waited for per partition).
CLOSE_FLUSH_S = 5.0


@dataclass
class ReplayClients:
    """What an open replay talks to; `sending` exists once the first real pass starts."""

    admin: AdminPort
    consumer: ConsumerPort
    publisher: Publisher | None = None
    sender: CopySender | None = None
    _topics: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def connect(
        cls,
        settings: Settings,
        group: str,
        connect_admin: Callable[[Settings], AdminPort],
        connect_consumer: Callable[..., ConsumerPort],
    ) -> ReplayClients:
        """The admin, then the replay group's consumer (read_committed: only committed copies
        count); the admin is closed again when the consumer cannot be made."""
        admin = connect_admin(settings)
        try:
            consumer = connect_consumer(settings, group, read_committed=True)
        except BaseException:
            admin.close()
            raise
        return cls(admin, consumer)

    def topic_exists(self, topic: str | None) -> bool:
        """Whether `topic` exists, asked once per topic and run."""
        from kafkactl.admin import queries as kadmin

        if topic is None:
            return False
        known = self._topics.get(topic)
        if known is None:
            known = kadmin.describe_topics(self.admin, [topic])[topic].exists
            self._topics[topic] = known
        return known

    def close(self) -> None:
        """Close every client; a failure to close is logged, never raised (the summary wins)."""
        closes = (
            ("producer", self.publisher.close if self.publisher else None, (CLOSE_FLUSH_S,)),
            ("consumer", self.consumer.close, ()),
            ("admin", self.admin.close, ()),
        )
        for name, close, args in closes:
            if close is None:
                continue
            try:
                close(*args)
            except Exception as exc:  # closing must not hide the summary
                logger.debug("closing the {} failed: {}", name, exc)
        self.publisher = None
        self.sender = None
