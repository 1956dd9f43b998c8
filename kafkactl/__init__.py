"""kafkactl: Kafka from the shell, with retry tiers, a dead-letter topic and DLQ replay."""

from kafkactl.errors import FatalError
from kafkactl.message import Message

__version__ = "0.1.0"

__all__ = ["FatalError", "Message", "__version__"]
