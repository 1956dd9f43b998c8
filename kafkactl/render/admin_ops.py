"""Tables of the changing operator commands: topics delete / alter-config / add-partitions /
delete-records, groups delete / delete-offsets, cluster describe, dlq purge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kafkactl.render import _escape, show, styled, table

if TYPE_CHECKING:
    from kafkactl.admin.cluster import ClusterInfo
    from kafkactl.admin.group_changes import GroupDeleteRow, OffsetsDeletePlan
    from kafkactl.admin.topic_changes import ConfigPlan, DeleteRow, PartitionPlan, RecordsPlan
    from kafkactl.replay.purge import PurgePlan

DRY_RUN = " — dry run, nothing changed (add --execute)"


def _title(base: str, executed: bool) -> str:
    return base if executed else base + DRY_RUN


def topic_deletes(rows: list[DeleteRow], title: str = "Delete topics") -> None:
    """`topics delete`: each topic with its size and what happened."""
    show(
        table(
            title,
            ("topic", "role", "partitions", "messages", "status", "error"),
            [
                (
                    r.name,
                    r.role,
                    r.partitions,
                    f"{r.messages:,}",
                    styled(r.status),
                    _escape(r.error or ""),
                )
                for r in rows
            ],
            numeric=("partitions", "messages"),
        )
    )


def config_plan(plan: ConfigPlan) -> None:
    """`topics alter-config`: key, old (and where it came from) → new."""
    rows = []
    for c in plan.changes:
        old = "*****" if c.sensitive else c.old
        new = "*****" if c.sensitive else c.new
        rows.append(
            (
                c.key,
                _escape(str(old)),
                c.old_source.lower(),
                "→",
                "(default)" if new is None else _escape(new),
            )
        )
    status = f" — {styled(plan.status)}" if plan.executed or plan.status == "unchanged" else ""
    show(
        table(
            _title(f"Configs of {_escape(plan.topic)}", plan.executed) + status,
            ("config", "now", "source", "", "after"),
            rows,
        )
    )


def partition_plan(plan: PartitionPlan) -> None:
    """`topics add-partitions`: partitions now → after."""
    show(
        table(
            _title(f"Partitions of {_escape(plan.topic)}", plan.executed),
            ("topic", "partitions now", "after", "status", "error"),
            [
                (
                    plan.topic,
                    plan.current,
                    plan.count,
                    styled(plan.status),
                    _escape(plan.error or ""),
                )
            ],
            numeric=("partitions now", "after"),
        )
    )


def records_plan(plan: RecordsPlan) -> None:
    """`topics delete-records`: per partition low → new low and the records removed."""
    show(
        table(
            _title(
                f"Delete records of {_escape(plan.topic)} — {plan.removed:,} record(s)",
                plan.executed,
            ),
            ("partition", "low", "→ new low", "high", "removed", "status"),
            [
                (r.partition, r.low, r.new_low, r.high, f"{r.removed:,}", styled(r.status))
                for r in plan.rows
            ],
            numeric=("partition", "low", "→ new low", "high", "removed"),
        )
    )


def group_deletes(rows: list[GroupDeleteRow], title: str = "Delete groups") -> None:
    """`groups delete`: each group, its state and committed offsets, what happened."""
    show(
        table(
            title,
            ("group", "state", "topics", "offsets", "status", "error"),
            [
                (
                    r.group,
                    r.state,
                    ", ".join(r.topics) or "-",
                    r.partitions,
                    styled(r.status),
                    _escape(r.error or ""),
                )
                for r in rows
            ],
            numeric=("offsets",),
        )
    )


def offsets_delete_plan(plan: OffsetsDeletePlan) -> None:
    """`groups delete-offsets`: the committed offsets removed per partition."""
    show(
        table(
            _title(
                f"Offsets of group {_escape(plan.group)} on {_escape(plan.topic)} ({plan.state})",
                plan.executed,
            ),
            ("partition", "committed", "status", "error"),
            [
                (r["partition"], r["committed"], styled(r["status"]), _escape(r["error"] or ""))
                for r in plan.rows
            ],
            numeric=("partition", "committed"),
        )
    )


def cluster_info(info: ClusterInfo) -> None:
    """`cluster describe`: the cluster, its brokers, and (asked for) each broker's configs."""
    show(
        table(
            "Cluster",
            ("cluster id", "controller", "brokers", "metadata.version"),
            [(info.cluster_id, info.controller_id, len(info.brokers), info.metadata_version)],
        ),
        table(
            "Brokers",
            ("id", "host", "port", "rack", "role", "kafka"),
            [
                (
                    b.broker_id,
                    _escape(b.host),
                    b.port,
                    _escape(b.rack or "-"),
                    "controller" if b.controller else "",
                    "?" if b.version is None else ("≥ " if b.version_at_least else "") + b.version,
                )
                for b in info.brokers
            ],
            numeric=("id", "port"),
        ),
    )
    for b in info.brokers:
        if b.configs is None:
            continue
        show(
            table(
                f"Configs of broker {b.broker_id} (* set on the broker, else Kafka's default)",
                ("", "config", "value", "source"),
                [
                    ("*" if c.non_default else "", c.name, _escape(str(c.value)), c.source.lower())
                    for c in b.configs
                ],
            )
        )


def purge_plan(plan: PurgePlan) -> None:
    """`dlq purge`: per partition the replayed prefix deleted, and why the rest stays."""
    show(
        table(
            _title(
                f"Purge {_escape(plan.dlq)} (replay group {_escape(plan.replay_group)}) — "
                f"{plan.deleted:,} replayed dead letter(s), {plan.kept:,} kept",
                plan.executed,
            ),
            ("partition", "low", "replayed up to", "deleted", "high", "status", "kept because"),
            [
                (
                    r.partition,
                    r.low,
                    r.delete_to,
                    f"{r.deleted:,}",
                    r.high,
                    styled(r.status),
                    _escape(r.kept_because or "-"),
                )
                for r in plan.rows
            ],
            numeric=("partition", "low", "replayed up to", "deleted", "high"),
        )
    )
