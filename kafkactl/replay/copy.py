"""The headers of a replayed copy, and `kafkactl.replay.from`, which ties a copy to its source.

Key, value, `message-id` and the business headers are kept; the retry state of DESIGN §8.1 is
removed, and so is a framework's error context (Connect's `__connect.errors.*`, Spring's
`kafka_dlt-*`, `kafka_original-*`, `retry_topic-*`..., Karafka's `source_*`: see
`conventions`) unless `keep_foreign`, because the framework writes its own again at the next
failure and they would pile up round after round. `kafkactl.replay.count` (+1), `.at` and
`.from` (`dlq:partition:offset`) are set exactly once. A copy whose value a transform repaired
also gets `kafkactl.replay.transformed: true` (a copy replayed untransformed keeps what the
dead letter carried: its value is still the one an earlier transform wrote). Where the origin
came from Connect, Spring or Karafka headers, `kafkactl.original.*` (and, for the retry
target, `kafkactl.group`) are filled in once, so the facts survive the framework's headers and
a later failure keeps pointing at the real origin.
"""

from __future__ import annotations

from kafkactl import headers as hdr
from kafkactl.replay.conventions import without_error_context
from kafkactl.replay.deadletter import DeadLetter
from kafkactl.topology import default_message_id
from kafkactl.tracing import NOOP_SPAN, NoopTracer, Span


def replay_headers(
    dl: DeadLetter,
    dlq: str,
    now_ms: int,
    group: str | None = None,
    transformed: bool = False,
    keep_foreign: bool = False,
) -> hdr.Headers:
    """Headers of the replayed copy (see the module docstring); `group` only for --to retry;
    `transformed` when a transform repaired the value (`kafkactl.replay.transformed: true`);
    `keep_foreign` keeps the frameworks' error-context headers (--keep-foreign-headers)."""
    kept = list(dl.headers) if keep_foreign else without_error_context(dl.headers)
    out = hdr.replace(kept, dict.fromkeys(hdr.RETRY_STATE))
    out = hdr.set_once(out, hdr.MESSAGE_ID, copy_message_id(dl, dlq))
    if dl.original_topic:
        out = hdr.set_once(out, hdr.ORIGINAL_TOPIC, dl.original_topic)
        for name, value in (
            (hdr.ORIGINAL_PARTITION, dl.original_partition),
            (hdr.ORIGINAL_OFFSET, dl.original_offset),
            (hdr.ORIGINAL_TIMESTAMP, dl.original_timestamp),
        ):
            if value is not None:
                out = hdr.set_once(out, name, value)
    if group:
        out = hdr.set_once(out, hdr.GROUP, group)
    updates: dict[str, str | int | bytes | None] = {
        hdr.REPLAY_COUNT: dl.replay_count + 1,
        hdr.REPLAY_AT: now_ms,
        hdr.REPLAY_FROM: replay_from(dlq, dl.partition, dl.offset),
    }
    if transformed:
        updates[hdr.REPLAY_TRANSFORMED] = "true"
    return hdr.replace(out, updates)


def copy_message_id(dl: DeadLetter, dlq: str) -> str:
    """The copy's `message-id`: the dead letter's own, else what the consumer would have used
    for the original record without one (so dedupe agrees), else one from the DLQ position."""
    own = hdr.get_text(dl.headers, hdr.MESSAGE_ID)
    if own:
        return own
    if dl.original_topic and dl.original_partition is not None and dl.original_offset is not None:
        return default_message_id(dl.original_topic, dl.original_partition, dl.original_offset)
    return default_message_id(dlq, dl.partition, dl.offset)


def traced_copy(
    tracer: NoopTracer, dl: DeadLetter, target: str, headers: hdr.Headers
) -> tuple[hdr.Headers, Span]:
    """With spans on: the copy's `publish` span (a child of the context the dead letter
    carries) and the headers naming it as `traceparent`; off: the headers as they are."""
    if not tracer.enabled:
        return headers, NOOP_SPAN
    span = tracer.publish(
        target,
        "replay",
        dl.headers,
        dl.key,
        {
            "kafkactl.replay.count": dl.replay_count + 1,
            "kafkactl.replay.from": hdr.get_text(headers, hdr.REPLAY_FROM) or "",
        },
    )
    return span.inject(headers), span


def replay_from(dlq: str, partition: int, offset: int) -> str:
    """The `kafkactl.replay.from` value: `dlq-topic:partition:offset`."""
    return f"{dlq}:{partition}:{offset}"


def parse_replay_from(text: str | None) -> tuple[str, int, int] | None:
    """(dlq, partition, offset) from a `kafkactl.replay.from` value (topics never contain ':')."""
    if not text:
        return None
    parts = text.rsplit(":", 2)
    if len(parts) != 3:
        return None
    try:
        return parts[0], int(parts[1]), int(parts[2])
    except ValueError:
        return None
