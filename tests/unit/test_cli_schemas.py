"""produce's schema flag combinations that cannot work: exit 2 before anything connects."""

import pytest

from kafkactl.cli.schemas import SchemaFlags, check_produce_flags
from kafkactl.errors import UsageError


def test_a_key_schema_without_a_key_is_refused_naming_the_flags():
    flags = [SchemaFlags("value"), SchemaFlags("key", schema="key.avsc")]
    with pytest.raises(UsageError) as caught:
        check_produce_flags(flags, "json", has_key=False)
    assert str(caught.value) == (
        "--key-schema encodes keys, but the records have none: add --key-field FIELD or --key TEXT"
    )
    check_produce_flags(flags, "json", has_key=True)


def test_a_value_schema_needs_no_key():
    check_produce_flags(
        [SchemaFlags("value", subject="orders-value"), SchemaFlags("key")], "json", has_key=False
    )


def test_raw_input_cannot_carry_schema_documents():
    with pytest.raises(UsageError, match="--value-schema writes JSON documents"):
        check_produce_flags([SchemaFlags("value", schema="v.avsc")], "raw")
