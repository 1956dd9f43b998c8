"""DLQ replay (DESIGN §9): read dead letters, pick a target, republish, keep progress.

No Typer or Rich here: the command (cli/replay.py) parses flags into ReplayOptions, calls
`operation.replay_dlq` and renders (render/replay.py).

    conventions the Kafka Connect / Spring / Karafka header names, and their error context
    deadletter  reading a dead letter: kafkactl / Kafka Connect / Spring / Karafka headers
    selection   filters, targets and the decision for each dead letter
    copy        the headers of the replayed copy, `kafkactl.replay.from`
    progress    done ranges per partition, the commit-metadata codec and fence
    recovery    finding the copies of an interrupted run (kill -9)
    transform   repairing values: --transform (the exec handler), --transform-handler, diffs
    repair      one dead letter through the transform, and what the summary records of it
    model       options, summary, and the errors that name an option
    replayer    Replayer: open, plan (dry run), run, close
    operation   plan -> confirm -> run, as the command runs it
"""

from kafkactl.errors import OptionError
from kafkactl.ranges import RangeSet, len_offsets
from kafkactl.ratelimit import RateLimiter
from kafkactl.replay.checkpoint import (
    MEMO_MAX_RANGES,
    METADATA_MAX_CHARS,
    Fence,
    PartitionProgress,
    decode_progress,
    decode_ranges,
    encode_progress,
    encode_ranges,
)
from kafkactl.replay.copy import parse_replay_from, replay_from, replay_headers
from kafkactl.replay.deadletter import (
    DeadLetter,
    decode_int,
    header_int,
    read_dead_letter,
    replay_group_for,
)
from kafkactl.replay.model import (
    DlqNotFound,
    PlanRow,
    ReplayOptions,
    ReplaySummary,
)
from kafkactl.replay.recovery import RECOVERY_MARGIN_MS
from kafkactl.replay.replayer import Replayer
from kafkactl.replay.selection import TO_ORIGINAL, TO_RETRY, Decision, Filters, decide, target_for

__all__ = [
    "MEMO_MAX_RANGES",
    "METADATA_MAX_CHARS",
    "RECOVERY_MARGIN_MS",
    "TO_ORIGINAL",
    "TO_RETRY",
    "DeadLetter",
    "Decision",
    "DlqNotFound",
    "Fence",
    "Filters",
    "OptionError",
    "PartitionProgress",
    "PlanRow",
    "RangeSet",
    "RateLimiter",
    "ReplayOptions",
    "ReplaySummary",
    "Replayer",
    "decide",
    "decode_int",
    "decode_progress",
    "decode_ranges",
    "encode_progress",
    "encode_ranges",
    "header_int",
    "len_offsets",
    "parse_replay_from",
    "read_dead_letter",
    "replay_from",
    "replay_group_for",
    "replay_headers",
    "target_for",
]
