"""Topic names read back into pipeline roles under the default and custom templates."""

from __future__ import annotations

from kafkactl.config import load_settings
from kafkactl.topology import NamedRole, pipeline_of, role_of

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
