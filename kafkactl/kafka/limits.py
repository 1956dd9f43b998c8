"""Record size limits kafkactl's clients and pipeline topics share (DESIGN §8.3).

Below both engines' config modules and the admin port: plain numbers, no imports.
"""

from __future__ import annotations

# The broker's default max.message.bytes (message.max.bytes), for when it cannot be asked.
BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588
# Room a retry tier or DLQ keeps above its main topic's max.message.bytes for the headers of
# DESIGN §8.3 (at most about 6.5 KiB: a 4 KiB trace, a 1 KiB message, origin and state fields).
PIPELINE_HEADROOM_BYTES = 64 * 1024
# The largest record kafkactl's producers send (kafka-python max_request_size, librdkafka
# message.max.bytes): the broker's topic limit is the real bound, so the client never refuses
# a copy the topic would take. Larger than both clients' defaults (1 MiB, 1,000,000 bytes),
# which are below the broker's own default plus any header.
PRODUCER_MAX_REQUEST_BYTES = 16 * 1024 * 1024 + PIPELINE_HEADROOM_BYTES
MAX_MESSAGE_BYTES = "max.message.bytes"
