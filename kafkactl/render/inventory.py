"""Tables of the operator commands: `topics list/describe`, `groups list/describe/reset-offsets`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kafkactl.render import show, styled, table, top_error_note

if TYPE_CHECKING:
    from kafkactl.admin.groups import GroupDetail, GroupRow, ResetPlan
    from kafkactl.admin.topics import TopicDetail, TopicRow


def topic_list(rows: list[TopicRow]) -> None:
    """`topics list`: one row per topic."""
    show(
        table(
            "Topics",
            ("topic", "partitions", "replication", "messages", "role"),
            [(r.name, r.partitions, r.replication, f"{r.messages:,}", r.role) for r in rows],
            numeric=("partitions", "replication", "messages"),
        )
    )


def topic_detail(detail: TopicDetail) -> None:
    """`topics describe`: partitions, then the configs that differ from the defaults."""
    show(
        table(
            f"Topic {detail.name} ({detail.role})",
            ("partition", "state", "leader", "replicas", "isr", "low", "high", "messages"),
            [
                (
                    p.partition,
                    styled(p.state),
                    p.leader,
                    ",".join(map(str, p.replicas)),
                    ",".join(map(str, p.isr)),
                    p.low,
                    p.high,
                    f"{p.messages:,}",
                )
                for p in detail.partitions
            ],
            numeric=("partition", "leader", "low", "high", "messages"),
        )
    )
    if detail.configs:
        show(table("Configs (not default)", ("config", "value"), detail.configs.items()))


def group_list(rows: list[GroupRow]) -> None:
    """`groups list`: one row per group."""
    show(
        table(
            "Consumer groups",
            ("group", "state", "members", "topics", "lag"),
            [(r.group, r.state, r.members, _few(r.topics), f"{r.lag:,}") for r in rows],
            numeric=("members", "lag"),
        )
    )


def group_detail(detail: GroupDetail) -> None:
    """`groups describe`: members, lag per partition, and the pipeline's tiers and DLQ."""
    parts: list[Any] = []
    if detail.members:
        parts.append(
            table(
                f"Group {detail.group} — {detail.state}, {len(detail.members)} member(s)",
                ("member", "client id", "host", "partitions"),
                [
                    (m["member_id"], m["client_id"], m["host"], ", ".join(m["assignment"]))
                    for m in detail.members
                ],
            )
        )
    title = f"Group {detail.group} — {detail.state}, total lag {detail.total_lag:,}"
    parts.append(
        table(
            title,
            ("topic", "partition", "committed", "end", "lag", "member"),
            [
                (p.topic, p.partition, p.committed, p.end, f"{p.lag:,}", p.member)
                for p in detail.partitions
            ],
            numeric=("partition", "committed", "end", "lag"),
        )
    )
    if detail.pipeline:
        parts.append(
            table(
                "Retry tiers and DLQ",
                ("topic", "role", "waiting", "top error"),
                [
                    (
                        d.topic,
                        d.role,
                        f"{d.depth:,}" if d.exists else styled("missing"),
                        top_error_note(d.top_error).removeprefix(", top error ") or "",
                    )
                    for d in detail.pipeline
                ],
                numeric=("waiting",),
            )
        )
    show(*parts)


def reset_plan(plan: ResetPlan) -> None:
    """`groups reset-offsets`: current → new per partition, and whether it was applied."""
    verb = "Reset" if plan.executed else "Reset plan (dry run; --execute applies it)"
    show(
        table(
            f"{verb} — group {plan.group} ({plan.state})",
            ("topic", "partition", "current", "new", "low", "high", "status"),
            [
                (
                    r.topic,
                    r.partition,
                    r.current,
                    r.new,
                    r.low,
                    r.high,
                    styled(r.status) + (f" {r.error}" if r.error else ""),
                )
                for r in plan.rows
            ],
            numeric=("partition", "current", "new", "low", "high"),
        )
    )


def _few(names: list[str], shown: int = 3) -> str:
    """The first few names, then how many more (the JSON output has them all)."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" (+{more} more)" if more > 0 else "")
