"""The stdlib logger librdkafka's log lines go to: below both the client configs and the -X
check that makes a probe client."""

from __future__ import annotations

import logging

# kafkactl.log routes the `kafka` stdlib logger through loguru with secrets redacted (silent
# unless KAFKA_LOG_LEVEL=DEBUG).
LIBRDKAFKA_LOGGER = logging.getLogger("kafka.librdkafka")
