"""Topic names read back into pipeline roles under the default and custom templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkactl.config import load_settings
from kafkactl.errors import UsageError
from kafkactl.topology import (
    NamedRole,
    TopicPlan,
    check_pipeline_names,
    default_message_id,
    dlq_topic,
    pipeline_of,
    pipeline_topics,
    replay_group,
    retry_topic,
    role_of,
)

SETTINGS = load_settings({"brokers": "127.0.0.1:9092"})


def test_roles_under_default_templates() -> None:
    assert role_of(SETTINGS, "orders") == NamedRole("main", "orders")
    assert role_of(SETTINGS, "orders.billing.retry.2") == NamedRole("retry", "orders", "billing", 2)
    assert role_of(SETTINGS, "orders.billing.dlq") == NamedRole("dlq", "orders", "billing")
    assert role_of(SETTINGS, "orders.billing.dlq").label == "dlq"
    assert role_of(SETTINGS, "orders.billing.retry.2").label == "retry 2"


def test_roles_under_custom_templates() -> None:
    custom = load_settings(
        {
            "brokers": "127.0.0.1:9092",
            "retry_topic_template": "retry-{n}-{topic}",
            "dlq_topic_template": "dead-{topic}",
        }
    )
    assert role_of(custom, "retry-3-orders") == NamedRole("retry", "orders", None, 3)
    assert role_of(custom, "dead-orders") == NamedRole("dlq", "orders", None)
    assert role_of(custom, "orders.billing.dlq").kind == "main"


def test_pipeline_of_names_every_tier_and_the_dlq() -> None:
    names = [name for _, name in pipeline_of(SETTINGS, "orders", "billing")]
    assert names == [
        "orders.billing.retry.1",
        "orders.billing.retry.2",
        "orders.billing.retry.3",
        "orders.billing.dlq",
    ]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A clean environment: no KAFKA_* variables, an empty XDG dir, cwd = tmp_path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xdg").mkdir()
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}


# --- retry / DLQ topic names from the templates ---------------------------------------------


def test_default_retry_and_dlq_topic_names(env: dict[str, str]) -> None:
    s = load_settings(env=env)
    assert [retry_topic(s, "orders", n, "billing") for n in (1, 2, 3)] == [
        "orders.billing.retry.1",
        "orders.billing.retry.2",
        "orders.billing.retry.3",
    ]
    assert dlq_topic(s, "orders", "billing") == "orders.billing.dlq"


def test_pipeline_topic_names_need_a_group(env: dict[str, str]) -> None:
    s = load_settings(env=env)
    with pytest.raises(UsageError, match="belong to a consumer group"):
        dlq_topic(s, "orders")


def test_topic_names_use_the_configured_group(env: dict[str, str]) -> None:
    env["KAFKA_CONSUMER_GROUP_ID"] = "billing"
    s = load_settings(env=env)
    assert retry_topic(s, "orders", 2) == "orders.billing.retry.2"
    assert dlq_topic(s, "orders") == "orders.billing.dlq"


def test_topic_names_with_explicit_group(env: dict[str, str]) -> None:
    s = load_settings(env=env)
    assert retry_topic(s, "orders", 1, group="audit") == "orders.audit.retry.1"
    assert dlq_topic(s, "orders", group="audit") == "orders.audit.dlq"


def test_custom_topic_templates(env: dict[str, str]) -> None:
    env.update(
        KAFKA_RETRY_TOPIC_TEMPLATE="{topic}-retry-{n}",
        KAFKA_DLQ_TOPIC_TEMPLATE="dlq.{group}.{topic}",
        KAFKA_CONSUMER_GROUP_ID="g",
    )
    s = load_settings(env=env)
    assert retry_topic(s, "orders", 1) == "orders-retry-1"
    assert dlq_topic(s, "orders") == "dlq.g.orders"


def test_template_with_format_spec(env: dict[str, str]) -> None:
    env["KAFKA_RETRY_TOPIC_TEMPLATE"] = "{topic}.retry.{n:02d}"
    assert retry_topic(load_settings(env=env), "t", 3, "g") == "t.retry.03"


def test_pipeline_topics_with_and_without_group_and_tiers() -> None:
    assert pipeline_topics(SETTINGS, "orders", None, True) == [TopicPlan("orders", "main")]
    assert [p.name for p in pipeline_topics(SETTINGS, "orders", "g", False)] == [
        "orders",
        "orders.g.dlq",
    ]
    plans = pipeline_topics(SETTINGS, "orders", "g", True)
    assert [(p.role, p.main) for p in plans] == [
        ("main", None),
        ("retry 1", "orders"),
        ("retry 2", "orders"),
        ("retry 3", "orders"),
        ("dlq", "orders"),
    ]
    assert pipeline_topics(SETTINGS, "x.g.dlq", None, True)[0].role == "dlq"


def test_identity_rules() -> None:
    assert replay_group("orders.g.dlq") == "kafkactl-replay.orders.g.dlq"
    assert default_message_id("orders", 2, 17) == "orders/2/17"


# --- every name a pipeline will use is a legal Kafka name -----------------------------------


def test_pipeline_names_from_a_bad_template_name_the_variable(env: dict[str, str]) -> None:
    env["KAFKA_RETRY_TOPIC_TEMPLATE"] = "{topic} retry {n}"
    s = load_settings(env=env)
    check_pipeline_names(s, "billing", ["orders"], no_retry=True)  # no tiers: not used
    with pytest.raises(UsageError) as caught:
        check_pipeline_names(s, "billing", ["orders"], no_retry=False)
    assert str(caught.value).startswith(
        "KAFKA_RETRY_TOPIC_TEMPLATE (from env) makes a bad topic name: "
    )
