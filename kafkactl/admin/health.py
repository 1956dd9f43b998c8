"""Cluster, topic and consumer-group checks, and the healthy / degraded / unhealthy verdict."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kafkactl.admin import queries as kadmin
from kafkactl.admin.topics import pipeline_risks
from kafkactl.config import Settings
from kafkactl.errors import KafkactlError
from kafkactl.kafka import TopicPartition
from kafkactl.kafka.admin_port import AdminPort, Committed
from kafkactl.schemas.model import Field, SchemaRegistry, subject_for
from kafkactl.topology import TopicPlan, pipeline_topics, replay_group

if TYPE_CHECKING:
    from kafkactl.dlq.scan import TopError

MIN_INSYNC = "min.insync.replicas"
# Named in no query but replicated on every cluster that ever had a group: its replica lists
# tell which brokers exist even when no topic is checked.
OFFSETS_TOPIC = "__consumer_offsets"

# The top error class of a DLQ from a bounded read of its tail (triage_scan.dlq_top_error).
TopErrorOf = Callable[[str], "TopError | None"]

# below-min-isr: fewer in-sync replicas than min.insync.replicas, acks=all writes are refused.
TopicStatus = Literal["ok", "missing", "leaderless", "below-min-isr", "under-replicated"]
# unknown: no committed offset anywhere and no members (a typo, or a group that never committed).
GroupStatus = Literal["ok", "unknown"]
# unhealthy: missing topics, leaderless (offline) partitions, partitions below
# min.insync.replicas; degraded: lag, dead letters, ISR (at min.insync.replicas: one more lost
# replica stops writes), brokers missing, an unknown group, a schema registry that does not
# answer, a compacted or short-lived tier or DLQ.
Verdict = Literal["healthy", "degraded", "unhealthy"]


@dataclass
class BrokerInfo:
    """One broker of the cluster."""

    node_id: int
    host: str
    port: int
    rack: str | None = None


@dataclass
class TopicCheck:
    """One topic's state: exists, leaders, replication."""

    name: str
    role: str
    status: TopicStatus
    partitions: int = 0
    leaderless: list[int] = field(default_factory=list)
    under_replicated: list[int] = field(default_factory=list)
    # what in a retry tier's or DLQ's configs deletes records early (compaction, retention)
    risks: list[str] = field(default_factory=list)
    # the topic's min.insync.replicas (None: not asked, or the topic is missing)
    min_insync: int | None = None
    # partitions whose ISR is down to min.insync.replicas (one more loss stops acks=all writes)
    at_min_isr: list[int] = field(default_factory=list)
    # partitions whose ISR is below min.insync.replicas (acks=all writes are refused now)
    below_min_isr: list[int] = field(default_factory=list)


@dataclass
class PartitionLag:
    """Committed and end offset of one partition for a group."""

    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int


@dataclass
class GroupCheck:
    """A group's lag over a topic and its retry tiers, and the DLQ records not yet replayed."""

    group: str
    partitions: list[PartitionLag] = field(default_factory=list)
    total_lag: int = 0
    dlq_depth: int = 0
    status: GroupStatus = "ok"
    members: int = 0
    # the most frequent error class among the DLQ's last records (None: not looked or empty)
    dlq_top_error: TopError | None = None
    # a member's failure-storm breaker is open: `since=...;by=...` from its commit metadata
    breaker: str | None = None


@dataclass
class RegistryCheck:
    """The schema registry (when KAFKA_SCHEMA_REGISTRY_URL is set): does it answer, and which
    subjects the checked topics have there (`TOPIC-key`, `TOPIC-value`)."""

    url: str
    reachable: bool
    error: str | None = None
    subjects: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class HealthReport:
    """Everything `kafkactl health` found, and its verdict."""

    bootstrap: list[str]
    cluster_id: str | None = None
    controller_id: int | None = None
    brokers: list[BrokerInfo] = field(default_factory=list)
    # how many brokers the cluster should have: --expect-brokers, or every broker id that the
    # checked topics' replicas name (a dead broker stays in its partitions' replica lists)
    expected_brokers: int | None = None
    missing_brokers: list[int] = field(default_factory=list)
    topics: list[TopicCheck] = field(default_factory=list)
    groups: list[GroupCheck] = field(default_factory=list)
    registry: RegistryCheck | None = None
    verdict: Verdict = "healthy"
    reasons: list[str] = field(default_factory=list)
    elapsed_ms: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class HealthQuery:
    """What to check: topics (with their tiers and DLQ unless no_retry), a group, lag limit."""

    topics: list[str] = field(default_factory=list)
    group: str | None = None
    no_retry: bool = False
    max_lag: int | None = None
    expect_brokers: int | None = None


def check(
    admin: AdminPort,
    settings: Settings,
    query: HealthQuery,
    top_error: TopErrorOf | None = None,
    registry: SchemaRegistry | None = None,
) -> HealthReport:
    """Run every check of DESIGN §11.1 with a connected admin client and return the report;
    `top_error` (when given) names the top error class of a DLQ that is not empty;
    `registry` (when configured) is asked whether it answers and for the topics' subjects."""
    started = time.monotonic()
    report = HealthReport(bootstrap=list(settings.brokers))
    cluster = admin.describe_cluster()
    report.cluster_id = cluster.cluster_id
    report.controller_id = cluster.controller_id
    # KRaft's DescribeCluster lists a broker the controller fenced (dead, or cut off) as
    # fenced: it is registered but does not answer, so it counts as missing.
    report.brokers = [
        BrokerInfo(b.broker_id, b.host, b.port, b.rack) for b in cluster.brokers if not b.fenced
    ]
    fenced = {b.broker_id for b in cluster.brokers if b.fenced}
    if not report.brokers:
        report.reasons.append("no brokers registered")

    group = query.group or settings.consumer_group_id
    plans = [
        plan
        for topic in query.topics
        for plan in pipeline_topics(settings, topic, group, with_retry=not query.no_retry)
    ]
    described = kadmin.describe_topics(admin, [p.name for p in plans])
    existing = [p.name for p in plans if described[p.name].exists]
    risks = pipeline_risks(admin, [p for p in plans if described[p.name].exists])
    min_insync = _min_insync(admin, existing)
    for plan in plans:
        report.topics.append(_topic_check(plan, described[plan.name], min_insync.get(plan.name)))
        report.topics[-1].risks = risks.get(plan.name, [])
    _count_brokers(report, admin, described, query.expect_brokers, fenced)
    if query.group:
        report.groups.append(_group_check(admin, settings, query, described, top_error))
    if registry is not None:
        report.registry = registry_check(registry, query.topics)
    report.verdict, report.reasons = verdict(report, query.max_lag)
    report.elapsed_ms = int((time.monotonic() - started) * 1000)
    return report


def registry_check(registry: SchemaRegistry, topics: list[str]) -> RegistryCheck:
    """Whether the registry answers, and the subjects of `topics` it holds."""
    try:
        subjects = set(registry.subjects())
    except KafkactlError as exc:
        return RegistryCheck(registry.url, False, str(exc))
    parts: tuple[Field, ...] = ("key", "value")
    found = {
        topic: [subject_for(topic, part) for part in parts if subject_for(topic, part) in subjects]
        for topic in topics
    }
    return RegistryCheck(registry.url, True, None, found)


def _topic_check(plan: TopicPlan, info: kadmin.TopicInfo, min_insync: int | None) -> TopicCheck:
    if not info.exists:
        return TopicCheck(plan.name, plan.role, "missing")
    leaderless = [p.partition for p in info.partitions if p.leader < 0]
    under = [p.partition for p in info.partitions if len(p.isr) < len(p.replicas)]
    below: list[int] = []
    at: list[int] = []
    if min_insync is not None:
        # Only where the replication leaves room above min.insync: with replicas <= min.insync
        # every partition is "at" it by design (one broker, replication 1), not at risk.
        below = [p.partition for p in info.partitions if p.leader >= 0 and len(p.isr) < min_insync]
        at = [
            p.partition
            for p in info.partitions
            if len(p.replicas) > min_insync and len(p.isr) == min_insync
        ]
    status: TopicStatus = (
        "leaderless"
        if leaderless
        else "below-min-isr"
        if below
        else "under-replicated"
        if under
        else "ok"
    )
    return TopicCheck(
        plan.name, plan.role, status, len(info.partitions), leaderless, under, [], min_insync, at,
        below,
    )  # fmt: skip


def _min_insync(admin: AdminPort, names: list[str]) -> dict[str, int]:
    """Each topic's effective min.insync.replicas (topics the cluster does not say are left out)."""
    out: dict[str, int] = {}
    for name, configs in admin.effective_configs(names, [MIN_INSYNC]).items():
        found = configs.get(MIN_INSYNC)
        if found is not None and found.value is not None and found.value.isascii():
            with contextlib.suppress(ValueError):
                out[name] = int(found.value)
    return out


def _count_brokers(
    report: HealthReport,
    admin: AdminPort,
    described: dict[str, kadmin.TopicInfo],
    expect: int | None,
    fenced: set[int],
) -> None:
    """Brokers expected vs seen: a fenced broker, or one named in replica lists but not alive,
    is missing."""
    seen = {b.node_id for b in report.brokers}
    infos = list(described.values())
    if OFFSETS_TOPIC not in described:
        infos.extend(kadmin.describe_topics(admin, [OFFSETS_TOPIC]).values())
    named = {r for info in infos for p in info.partitions for r in p.replicas} | fenced
    report.missing_brokers = sorted(named - seen)
    known = len(seen | named)
    report.expected_brokers = max(expect or 0, known)


def _group_check(
    admin: AdminPort,
    settings: Settings,
    query: HealthQuery,
    described: dict[str, kadmin.TopicInfo],
    top_error: TopErrorOf | None = None,
) -> GroupCheck:
    assert query.group is not None
    check = GroupCheck(query.group)
    members = len(admin.describe_group(query.group).members)
    check.members = members
    offsets = admin.group_offsets(query.group)
    if members == 0 and not offsets:
        check.status = "unknown"
    if members:
        check.breaker = _open_breaker(offsets)
    consumed: list[TopicPartition] = []
    dlqs: list[str] = []
    for topic in query.topics:
        for plan in pipeline_topics(settings, topic, query.group, not query.no_retry):
            info = described[plan.name]
            if not info.exists:
                continue
            tps = [TopicPartition(plan.name, p.partition) for p in info.partitions]
            if plan.role == "dlq":
                dlqs.append(plan.name)
            else:
                consumed.extend(tps)
    ends = kadmin.end_offsets(admin, consumed)
    committed = kadmin.committed_offsets(admin, query.group, consumed)
    starts = kadmin.beginning_offsets(admin, consumed)
    for tp in consumed:
        done = committed[tp]
        base = done if done is not None else starts[tp]
        lag = max(0, ends[tp] - base)
        check.partitions.append(PartitionLag(tp.topic, tp.partition, committed[tp], ends[tp], lag))
        check.total_lag += lag
    for dlq in dlqs:
        depth = dlq_depth(admin, dlq, described[dlq])
        check.dlq_depth += depth
        if depth and top_error is not None:
            found = top_error(dlq)
            if found is not None and (
                check.dlq_top_error is None or found.count > check.dlq_top_error.count
            ):
                check.dlq_top_error = found
    return check


def _open_breaker(offsets: dict[TopicPartition, Committed]) -> str | None:
    """What a member's open failure-storm breaker wrote into its commits' metadata (since when,
    what opened it), or None: the pipeline commits `kafkactl:breaker=open;since=...;by=...`
    while its breaker is open, and clears it when it closes or the member stops."""
    from kafkactl.consumer.breaker import BREAKER_METADATA

    for committed in offsets.values():
        text = committed.metadata
        if text.startswith(BREAKER_METADATA + "open;"):
            return text.removeprefix(BREAKER_METADATA + "open;")
    return None


def dlq_depth(admin: AdminPort, dlq: str, info: kadmin.TopicInfo) -> int:
    """Dead letters not yet passed over by replay-dlq (all retained records if never replayed)."""
    tps = [TopicPartition(dlq, p.partition) for p in info.partitions]
    ends = kadmin.end_offsets(admin, tps)
    starts = kadmin.beginning_offsets(admin, tps)
    replayed = kadmin.committed_offsets(admin, replay_group(dlq), tps)
    return sum(max(0, ends[tp] - max(starts[tp], replayed[tp] or 0)) for tp in tps)


def verdict(report: HealthReport, max_lag: int | None) -> tuple[Verdict, list[str]]:
    """`unhealthy` for missing topics or leaderless partitions; `degraded` for lag, DLQ, ISR
    and an unknown group (no committed offsets, no members): both exit 1."""
    bad: list[str] = list(report.reasons)
    degraded: list[str] = []
    seen = len(report.brokers)
    if seen and report.expected_brokers is not None and seen < report.expected_brokers:
        missing = f" (missing: {_ids(report.missing_brokers)})" if report.missing_brokers else ""
        degraded.append(f"{seen} of {report.expected_brokers} brokers answer{missing}")
    for t in report.topics:
        if t.status == "missing":
            bad.append(f"topic {t.name} is missing")
        elif t.status == "leaderless":
            bad.append(f"{t.name} partitions {_ids(t.leaderless)} are offline (no leader)")
        if t.below_min_isr:
            bad.append(
                f"{t.name} partitions {_ids(t.below_min_isr)} have fewer in-sync replicas than "
                f"min.insync.replicas={t.min_insync}: acks=all writes to them are refused"
            )
        elif t.at_min_isr:
            degraded.append(
                f"{t.name} partitions {_ids(t.at_min_isr)} are down to min.insync.replicas="
                f"{t.min_insync} in-sync replicas: one more lost broker stops acks=all writes"
            )
        if t.under_replicated and t.status != "leaderless" and not t.at_min_isr:
            degraded.append(f"{t.name} partitions {_ids(t.under_replicated)} are under-replicated")
        degraded.extend(f"{t.role} topic {t.name} {risk}" for risk in t.risks)
    registry = report.registry
    if registry is not None and not registry.reachable:
        degraded.append(registry.error or f"schema registry at {registry.url} does not answer")
    for g in report.groups:
        if g.status == "unknown":
            degraded.append(
                f"unknown group {g.group}: it has no committed offsets and no members "
                "(a typo, or a group that never committed)"
            )
        if g.breaker is not None:
            since, _, opened_by = g.breaker.partition(";by=")
            degraded.append(
                f"group {g.group}: a member's failure-storm breaker is open "
                f"({since.replace('=', ' ')}; opened by {opened_by}): its records wait, paused, "
                "until the downstream answers"
            )
        if max_lag is not None and g.total_lag > max_lag:
            degraded.append(f"group {g.group} lag {g.total_lag:,} is over {max_lag:,}")
        if g.dlq_depth > 0:
            top = g.dlq_top_error
            note = ""
            if top is not None:
                label = top.error_class or "(no error class)"
                label = label if top.kind == "-" else f"{top.kind} {label}"
                note = f" (top error {label}: {top.count:,} of the last {top.sampled:,})"
            degraded.append(f"group {g.group} has {g.dlq_depth:,} dead letters waiting{note}")
    if bad:
        return "unhealthy", bad + degraded
    if degraded:
        return "degraded", degraded
    return "healthy", []


def _ids(values: list[int]) -> str:
    return ",".join(str(v) for v in values)
