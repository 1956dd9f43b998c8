"""Settings: precedence, config-file contexts, validation errors, masking and topic naming."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from textwrap import dedent

import pytest

from kafkactl.config import MASK, SPECS, Settings, load_settings
from kafkactl.errors import EXIT_USAGE, ConfigError

PASSWORD = "pw-S3cret!xyz"

CONTEXTS_TOML = """
current-context = "local"

[contexts.local]
brokers = "local1:9092"
client-id = "local-client"

[contexts.prod]
brokers = ["p1:9092", "p2:9093"]
client_id = "prod-client"
consumer-workers = 16
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A clean environment: no KAFKA_*/KAFKACTL_* variables, an empty XDG dir, cwd = tmp_path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xdg").mkdir()
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}


def write_toml(tmp_path: Path, text: str, name: str = "settings.toml") -> Path:
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def context_file(tmp_path: Path, body: str, name: str = "ctx") -> Path:
    """A config file with one context `name` holding `body`, made the current context."""
    return write_toml(tmp_path, f'current-context = "{name}"\n[contexts.{name}]\n{dedent(body)}')


def assert_names(err: ConfigError, *fragments: str) -> None:
    message = str(err)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# --- defaults ---------------------------------------------------------------------------------


def test_defaults_when_nothing_is_configured(env: dict[str, str]) -> None:
    s = load_settings(env=env)
    assert s.brokers == ("localhost:9092",)
    assert s.client_id == "kafkactl"
    assert s.security_protocol == "PLAINTEXT"
    assert s.sasl_mechanism is None
    assert s.sasl_password is None
    assert s.producer_acks == "all"
    assert s.producer_idempotent is True
    assert s.producer_retries == 10
    assert s.producer_compression == "none"
    assert s.consumer_group_id is None  # consume reads without a group unless given one
    assert s.consumer_workers == 4
    assert s.consumer_auto_offset_reset == "earliest"
    assert s.retry_delays == (1.0, 10.0, 60.0)
    assert s.retry_topic_template == "{topic}.{group}.retry.{n}"
    assert s.dlq_topic_template == "{topic}.{group}.dlq"
    assert s.reconnect_backoff_min == 0.1
    assert s.reconnect_backoff_max == 30.0
    assert s.health_interval == 30.0
    assert s.metrics_port is None
    assert s.log_level == "INFO"
    assert s.log_format == "auto"
    assert s.context is None
    assert s.config_file is None
    assert set(s.sources) == {spec.name for spec in SPECS}
    assert set(s.sources.values()) == {"default"}


# --- precedence -------------------------------------------------------------------------------


def test_precedence_flag_over_env_over_file_over_default(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = context_file(
        tmp_path,
        """
        brokers = "file:9092"
        client-id = "file-client"
        producer-compression = "gzip"
        """,
    )
    env.update(KAFKA_BROKERS="env:9092", KAFKA_CLIENT_ID="env-client")
    s = load_settings(flags={"brokers": "flag:9092"}, env=env, config_path=str(path))

    assert s.brokers == ("flag:9092",)
    assert s.sources["brokers"] == "flag"
    assert s.client_id == "env-client"
    assert s.sources["client_id"] == "env"
    assert s.producer_compression == "gzip"
    assert s.sources["producer_compression"] == "file:ctx"
    assert s.consumer_group_id is None  # consume reads without a group unless given one
    assert s.sources["consumer_group_id"] == "default"
    assert s.context == "ctx"
    assert s.config_file == str(path)


def test_env_overrides_file(tmp_path: Path, env: dict[str, str]) -> None:
    path = context_file(tmp_path, "consumer-workers = 8\n")
    env["KAFKA_CONSUMER_WORKERS"] = "2"
    s = load_settings(env=env, config_path=str(path))
    assert s.consumer_workers == 2
    assert s.sources["consumer_workers"] == "env"


def test_flag_given_as_none_means_not_given(env: dict[str, str]) -> None:
    env["KAFKA_BROKERS"] = "env:9092"
    s = load_settings(flags={"brokers": None, "log_level": None}, env=env)
    assert s.brokers == ("env:9092",)
    assert s.sources["brokers"] == "env"
    assert s.sources["log_level"] == "default"


def test_empty_env_variable_does_not_override_file(tmp_path: Path, env: dict[str, str]) -> None:
    path = context_file(tmp_path, 'client-id = "from-file"\n')
    env["KAFKA_CLIENT_ID"] = "  "
    s = load_settings(env=env, config_path=str(path))
    assert s.client_id == "from-file"
    assert s.sources["client_id"] == "file:ctx"


def test_unknown_flag_name_is_a_programming_error(env: dict[str, str]) -> None:
    with pytest.raises(KeyError):
        load_settings(flags={"no_such_setting": "x"}, env=env)


@pytest.mark.parametrize(
    ("var", "raw", "attr", "expected"),
    [
        ("KAFKA_SECURITY_PROTOCOL", "ssl", "security_protocol", "SSL"),
        ("KAFKA_PRODUCER_COMPRESSION", "ZSTD", "producer_compression", "zstd"),
        ("KAFKA_LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("KAFKA_LOG_FORMAT", "JSON", "log_format", "json"),
        ("KAFKA_PRODUCER_ACKS", "-1", "producer_acks", "all"),
        ("KAFKA_PRODUCER_ACKS", "ALL", "producer_acks", "all"),
        ("KAFKA_PRODUCER_IDEMPOTENT", "no", "producer_idempotent", False),
        ("KAFKA_PRODUCER_IDEMPOTENT", "TRUE", "producer_idempotent", True),
        ("KAFKA_BROKERS", " a:1 , b:2 ", "brokers", ("a:1", "b:2")),
        ("KAFKA_RETRY_DELAYS", "250ms,5m", "retry_delays", (0.25, 300.0)),
        ("KAFKA_HEALTH_INTERVAL", "1h", "health_interval", 3600.0),
        ("KAFKA_METRICS_PORT", "9100", "metrics_port", 9100),
        ("KAFKA_CONSUMER_AUTO_OFFSET_RESET", "latest", "consumer_auto_offset_reset", "latest"),
    ],
)
def test_env_values_are_parsed_to_typed_values(
    env: dict[str, str], var: str, raw: str, attr: str, expected: object
) -> None:
    env[var] = raw
    s = load_settings(env=env)
    assert getattr(s, attr) == expected
    assert s.sources[attr] == "env"


# --- config file discovery and contexts -------------------------------------------------------


def test_current_context_is_used(tmp_path: Path, env: dict[str, str]) -> None:
    path = write_toml(tmp_path, CONTEXTS_TOML)
    s = load_settings(env=env, config_path=str(path))
    assert s.context == "local"
    assert s.brokers == ("local1:9092",)
    assert s.client_id == "local-client"
    assert s.sources["brokers"] == "file:local"
    assert s.sources["consumer_workers"] == "default"


def test_context_argument_overrides_current_context(tmp_path: Path, env: dict[str, str]) -> None:
    path = write_toml(tmp_path, CONTEXTS_TOML)
    s = load_settings(env=env, config_path=str(path), context="prod")
    assert s.context == "prod"
    assert s.brokers == ("p1:9092", "p2:9093")
    assert s.client_id == "prod-client"
    assert s.consumer_workers == 16
    assert s.sources["brokers"] == "file:prod"
    assert s.sources["consumer_workers"] == "file:prod"


def test_kafkactl_context_env_picks_context(tmp_path: Path, env: dict[str, str]) -> None:
    path = write_toml(tmp_path, CONTEXTS_TOML)
    env["KAFKACTL_CONTEXT"] = "prod"
    s = load_settings(env=env, config_path=str(path))
    assert s.context == "prod"
    assert s.sources["client_id"] == "file:prod"


def test_context_argument_beats_kafkactl_context_env(tmp_path: Path, env: dict[str, str]) -> None:
    path = write_toml(tmp_path, CONTEXTS_TOML)
    env["KAFKACTL_CONTEXT"] = "prod"
    s = load_settings(env=env, config_path=str(path), context="local")
    assert s.context == "local"
    assert s.client_id == "local-client"


def test_current_context_with_underscore_is_accepted(tmp_path: Path, env: dict[str, str]) -> None:
    path = write_toml(tmp_path, CONTEXTS_TOML.replace("current-context", "current_context"))
    s = load_settings(env=env, config_path=str(path))
    assert s.context == "local"


def test_single_context_is_used_without_current_context(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = write_toml(tmp_path, '[contexts.only]\nbrokers = "only:9092"\n')
    s = load_settings(env=env, config_path=str(path))
    assert s.context == "only"
    assert s.brokers == ("only:9092",)
    assert s.sources["brokers"] == "file:only"


def test_several_contexts_and_none_chosen_uses_defaults(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = write_toml(tmp_path, '[contexts.a]\nbrokers = "a:1"\n[contexts.b]\nbrokers = "b:1"\n')
    s = load_settings(env=env, config_path=str(path))
    assert s.context is None
    assert s.brokers == ("localhost:9092",)
    assert s.sources["brokers"] == "default"


def test_unknown_context_names_it_and_the_known_ones(tmp_path: Path, env: dict[str, str]) -> None:
    path = write_toml(tmp_path, CONTEXTS_TOML)
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, config_path=str(path), context="staging")
    assert excinfo.value.exit_code == EXIT_USAGE
    assert excinfo.value.source == "--context"
    assert_names(excinfo.value, "staging", "local", "prod", "--context")


def test_unknown_context_from_env_names_the_env_variable(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = write_toml(tmp_path, CONTEXTS_TOML)
    env["KAFKACTL_CONTEXT"] = "staging"
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, config_path=str(path))
    assert_names(excinfo.value, "staging", "KAFKACTL_CONTEXT", "local, prod")


def test_unknown_current_context_is_an_error(tmp_path: Path, env: dict[str, str]) -> None:
    path = write_toml(tmp_path, CONTEXTS_TOML.replace('"local"', '"gone"', 1))
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, config_path=str(path))
    assert_names(excinfo.value, "gone", "current-context", "local", "prod")


def test_context_requested_without_any_config_file(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, context="prod")
    assert_names(excinfo.value, "prod", "--context", "no config file")


def test_broken_toml_names_the_file(tmp_path: Path, env: dict[str, str]) -> None:
    path = write_toml(tmp_path, '[contexts.prod\nbrokers = "x:1"\n', name="broken.toml")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, config_path=str(path))
    assert excinfo.value.exit_code == EXIT_USAGE
    assert_names(excinfo.value, str(path), "TOML")


def test_non_utf8_config_file_is_a_config_error(tmp_path: Path, env: dict[str, str]) -> None:
    # TOML files must be UTF-8; a file that is not is a broken config file (exit 2, one line),
    # not an unexpected UnicodeDecodeError.
    path = tmp_path / "latin1.toml"
    path.write_bytes('[contexts.prod]\nclient-id = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, config_path=str(path))
    assert_names(excinfo.value, str(path))


@pytest.mark.parametrize("key", ["bogus", "producer-ackz", "KAFKA_BROKERS"])
def test_unknown_key_in_context_is_an_error(tmp_path: Path, env: dict[str, str], key: str) -> None:
    path = write_toml(tmp_path, f'[contexts.prod]\n{key} = "x"\n')
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, config_path=str(path))
    assert excinfo.value.source == "file:prod"
    assert_names(excinfo.value, key, "file:prod", "allowed", "brokers", "producer-acks")


def test_contexts_must_be_tables(tmp_path: Path, env: dict[str, str]) -> None:
    path = write_toml(tmp_path, "contexts = 5\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, config_path=str(path))
    assert_names(excinfo.value, "contexts", str(path))


def test_context_must_be_a_table(tmp_path: Path, env: dict[str, str]) -> None:
    path = write_toml(tmp_path, '[contexts]\nprod = "localhost:9092"\n')
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, config_path=str(path), context="prod")
    assert_names(excinfo.value, "contexts.prod", str(path))


def test_explicit_config_path_must_exist(tmp_path: Path, env: dict[str, str]) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, config_path=str(missing))
    assert excinfo.value.exit_code == EXIT_USAGE
    assert_names(excinfo.value, str(missing), "--config", "does not exist")


def test_kafkactl_config_path_must_exist(tmp_path: Path, env: dict[str, str]) -> None:
    env["KAFKACTL_CONFIG"] = str(tmp_path / "nope.toml")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env)
    assert_names(excinfo.value, "nope.toml", "KAFKACTL_CONFIG")


def test_local_kafkactl_toml_is_found(tmp_path: Path, env: dict[str, str]) -> None:
    write_toml(tmp_path, '[contexts.here]\nbrokers = "here:1"\n', name="kafkactl.toml")
    s = load_settings(env=env)
    assert s.brokers == ("here:1",)
    assert s.sources["brokers"] == "file:here"


def test_xdg_config_is_found(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "xdg" / "kafkactl").mkdir()
    write_toml(tmp_path, '[contexts.xdg]\nbrokers = "xdg:1"\n', name="xdg/kafkactl/config.toml")
    s = load_settings(env=env)
    assert s.brokers == ("xdg:1",)
    assert s.sources["brokers"] == "file:xdg"


def test_local_file_beats_xdg_and_env_path_beats_local(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "xdg" / "kafkactl").mkdir()
    write_toml(tmp_path, '[contexts.xdg]\nbrokers = "xdg:1"\n', name="xdg/kafkactl/config.toml")
    write_toml(tmp_path, '[contexts.here]\nbrokers = "here:1"\n', name="kafkactl.toml")
    assert load_settings(env=env).context == "here"

    other = write_toml(tmp_path, '[contexts.envpath]\nbrokers = "e:1"\n', name="other.toml")
    env["KAFKACTL_CONFIG"] = str(other)
    assert load_settings(env=env).context == "envpath"

    flagged = write_toml(tmp_path, '[contexts.flagged]\nbrokers = "f:1"\n', name="flag.toml")
    assert load_settings(env=env, config_path=str(flagged)).context == "flagged"


@pytest.mark.parametrize("key", ["producer-compression", "producer_compression"])
def test_file_keys_accept_dash_or_underscore(tmp_path: Path, env: dict[str, str], key: str) -> None:
    path = context_file(tmp_path, f'{key} = "lz4"\n')
    s = load_settings(env=env, config_path=str(path))
    assert s.producer_compression == "lz4"
    assert s.sources["producer_compression"] == "file:ctx"


def test_mixed_dash_and_underscore_keys_in_one_context(tmp_path: Path, env: dict[str, str]) -> None:
    path = context_file(
        tmp_path,
        """
        consumer_group_id = "g1"
        consumer-auto-offset-reset = "latest"
        retry_topic-template = "{topic}-r{n}"
        """,
    )
    s = load_settings(env=env, config_path=str(path))
    assert s.consumer_group_id == "g1"
    assert s.consumer_auto_offset_reset == "latest"
    assert s.retry_topic_template == "{topic}-r{n}"


def test_toml_native_types(tmp_path: Path, env: dict[str, str]) -> None:
    path = context_file(
        tmp_path,
        """
        brokers = ["a:9092", "b:9093"]
        consumer-workers = 8
        producer-idempotent = false
        producer-acks = 1
        producer-retries = 0
        metrics-port = 9100
        retry-delays = ["500ms", "2s", "1m"]
        reconnect-backoff-min = "250ms"
        health-interval = 15
        """,
    )
    s = load_settings(env=env, config_path=str(path))
    assert s.brokers == ("a:9092", "b:9093")
    assert s.consumer_workers == 8
    assert s.producer_idempotent is False
    assert s.producer_acks == 1
    assert s.producer_retries == 0
    assert s.metrics_port == 9100
    assert s.retry_delays == (0.5, 2.0, 60.0)
    assert s.reconnect_backoff_min == 0.25
    assert s.health_interval == 15.0
    for name in ("brokers", "consumer_workers", "producer_idempotent", "retry_delays"):
        assert s.sources[name] == "file:ctx"


# --- validation errors ------------------------------------------------------------------------

# (env variable, bad value, fragments of "what is allowed" that the message must contain)
BAD_VALUES = [
    ("KAFKA_PRODUCER_ACKS", "2", ["0, 1 or all"]),
    ("KAFKA_RETRY_DELAYS", "abc", ["abc", "250ms", "10s"]),
    ("KAFKA_RETRY_DELAYS", "1s,soon", ["soon", "10s"]),
    ("KAFKA_BROKERS", "nohost", ["nohost", "host:port"]),
    ("KAFKA_BROKERS", "h:99999", ["h:99999", "host:port"]),
    ("KAFKA_BROKERS", "h:1,:9092", [":9092", "host:port"]),
    ("KAFKA_BROKERS", "h:abc", ["host:port"]),
    ("KAFKA_BROKERS", ",", ["host:port"]),
    ("KAFKA_PRODUCER_COMPRESSION", "brotli", ["brotli", "none, gzip, snappy, lz4, zstd"]),
    ("KAFKA_PRODUCER_IDEMPOTENT", "maybe", ["maybe", "true or false"]),
    ("KAFKA_CONSUMER_WORKERS", "0", ["from 1 to 1024"]),
    ("KAFKA_CONSUMER_WORKERS", "-3", ["from 1 to 1024"]),
    ("KAFKA_CONSUMER_WORKERS", "5000", ["from 1 to 1024"]),
    ("KAFKA_CONSUMER_WORKERS", "four", ["four", "whole number"]),
    ("KAFKA_PRODUCER_RETRIES", "-1", ["from 0 to 2147483647"]),
    ("KAFKA_METRICS_PORT", "70000", ["from 0 to 65535"]),
    ("KAFKA_RETRY_TOPIC_TEMPLATE", "{topic}.{grp}.retry.{n}", ["{grp}", "{group}, {n}, {topic}"]),
    ("KAFKA_RETRY_TOPIC_TEMPLATE", "{topic}.{group}.retry", ["must contain", "{n}"]),
    ("KAFKA_RETRY_TOPIC_TEMPLATE", "{topic}.retry.{}", ["{}", "allowed"]),
    ("KAFKA_DLQ_TOPIC_TEMPLATE", "{topic}.{n}.dlq", ["{n}", "{group}, {topic}"]),
    ("KAFKA_DLQ_TOPIC_TEMPLATE", "{group}.dlq", ["must contain", "{topic}"]),
    ("KAFKA_DLQ_TOPIC_TEMPLATE", "{topic.dlq", ["not a valid template"]),
    ("KAFKA_LOG_LEVEL", "LOUD", ["LOUD", "DEBUG", "INFO", "WARNING"]),
    ("KAFKA_LOG_FORMAT", "xml", ["xml", "auto, json, pretty"]),
    ("KAFKA_SECURITY_PROTOCOL", "TLS", ["PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"]),
    ("KAFKA_SASL_MECHANISM", "GSSAPI", ["PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"]),
    ("KAFKA_CONSUMER_AUTO_OFFSET_RESET", "middle", ["earliest, latest"]),
    ("KAFKA_RECONNECT_BACKOFF_MIN", "0s", ["at least 1ms"]),
    ("KAFKA_HEALTH_INTERVAL", "soon", ["soon", "10s"]),
    ("KAFKA_CONNECT_TIMEOUT", "-5s", ["-5s", "10s"]),
    ("KAFKA_SSL_CAFILE", "/nonexistent/ca.pem", ["/nonexistent/ca.pem", "does not exist"]),
    ("KAFKA_SSL_CERTFILE", "/nonexistent/c.pem", ["does not exist"]),
    ("KAFKA_SSL_KEYFILE", "/nonexistent/k.pem", ["does not exist"]),
]


@pytest.mark.parametrize(("var", "raw", "allowed"), BAD_VALUES)
def test_bad_env_value_names_setting_source_and_allowed(
    env: dict[str, str], var: str, raw: str, allowed: list[str]
) -> None:
    env[var] = raw
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env)
    err = excinfo.value
    assert err.exit_code == EXIT_USAGE
    assert err.setting == var
    assert err.source == "env"
    assert "\n" not in str(err)
    assert_names(err, var, "(from env)", *allowed)


FLAG_NAME = {spec.env: spec.name for spec in SPECS}


@pytest.mark.parametrize(("var", "raw", "allowed"), BAD_VALUES[:12])
def test_bad_flag_value_names_setting_and_flag_source(
    env: dict[str, str], var: str, raw: str, allowed: list[str]
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(flags={FLAG_NAME[var]: raw}, env=env)
    assert excinfo.value.source == "flag"
    assert_names(excinfo.value, var, "(from flag)", *allowed)


@pytest.mark.parametrize(
    ("line", "key", "allowed"),
    [
        ("producer-acks = 2", "producer-acks", ["0, 1 or all"]),
        ("producer_acks = 2", "producer-acks", ["0, 1 or all"]),
        ('retry-delays = "abc"', "retry-delays", ["abc", "10s"]),
        ("consumer-workers = 0", "consumer-workers", ["from 1 to 1024"]),
        ("consumer-workers = 2.5", "consumer-workers", ["whole number"]),
        ('brokers = ["ok:1", "nohost"]', "brokers", ["nohost", "host:port"]),
        ('producer-idempotent = "perhaps"', "producer-idempotent", ["true or false"]),
        ("producer-acks = true", "producer-acks", ["0, 1 or all"]),
    ],
)
def test_bad_file_value_names_key_and_context(
    tmp_path: Path, env: dict[str, str], line: str, key: str, allowed: list[str]
) -> None:
    path = context_file(tmp_path, line + "\n", name="prod")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, config_path=str(path))
    assert excinfo.value.source == "file:prod"
    assert_names(excinfo.value, key, "(from file:prod)", *allowed)


def test_valid_env_overrides_bad_file_value(tmp_path: Path, env: dict[str, str]) -> None:
    path = context_file(tmp_path, "producer-acks = 2\n")
    env["KAFKA_PRODUCER_ACKS"] = "all"
    assert load_settings(env=env, config_path=str(path)).producer_acks == "all"


def test_reconnect_min_longer_than_max(env: dict[str, str]) -> None:
    env.update(KAFKA_RECONNECT_BACKOFF_MIN="10s", KAFKA_RECONNECT_BACKOFF_MAX="5s")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env)
    assert excinfo.value.setting == "KAFKA_RECONNECT_BACKOFF_MIN"
    assert excinfo.value.source == "env"
    assert_names(
        excinfo.value, "KAFKA_RECONNECT_BACKOFF_MIN", "(from env)", "KAFKA_RECONNECT_BACKOFF_MAX"
    )


def test_reconnect_min_equal_to_max_is_fine(env: dict[str, str]) -> None:
    env.update(KAFKA_RECONNECT_BACKOFF_MIN="5s", KAFKA_RECONNECT_BACKOFF_MAX="5000ms")
    s = load_settings(env=env)
    assert s.reconnect_backoff_min == s.reconnect_backoff_max == 5.0


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_sasl_protocol_requires_mechanism(env: dict[str, str], protocol: str) -> None:
    env.update(
        KAFKA_SECURITY_PROTOCOL=protocol, KAFKA_SASL_USERNAME="u", KAFKA_SASL_PASSWORD=PASSWORD
    )
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env)
    assert excinfo.value.setting == "KAFKA_SASL_MECHANISM"
    assert_names(
        excinfo.value, "KAFKA_SASL_MECHANISM", protocol, "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"
    )
    assert PASSWORD not in str(excinfo.value)


@pytest.mark.parametrize(
    ("missing", "var"),
    [("sasl_username", "KAFKA_SASL_USERNAME"), ("sasl_password", "KAFKA_SASL_PASSWORD")],
)
def test_sasl_protocol_requires_username_and_password(
    env: dict[str, str], missing: str, var: str
) -> None:
    env.update(
        KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        KAFKA_SASL_USERNAME="u",
        KAFKA_SASL_PASSWORD=PASSWORD,
    )
    del env[var]
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env)
    assert excinfo.value.setting == var
    assert_names(excinfo.value, var, "SASL_SSL", "SCRAM-SHA-512", "required")
    assert PASSWORD not in str(excinfo.value)


def test_complete_sasl_settings_load(env: dict[str, str]) -> None:
    env.update(
        KAFKA_SECURITY_PROTOCOL="sasl_ssl",
        KAFKA_SASL_MECHANISM="scram-sha-256",
        KAFKA_SASL_USERNAME="alice",
        KAFKA_SASL_PASSWORD=PASSWORD,
    )
    s = load_settings(env=env)
    assert s.security_protocol == "SASL_SSL"
    assert s.sasl_mechanism == "SCRAM-SHA-256"
    assert s.sasl_username == "alice"
    assert s.sasl_password == PASSWORD


def test_existing_ssl_files_are_accepted(tmp_path: Path, env: dict[str, str]) -> None:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("-----BEGIN-----\n")
    env.update(
        KAFKA_SECURITY_PROTOCOL="SSL",
        KAFKA_SSL_CAFILE=str(tmp_path / "ca.pem"),
        KAFKA_SSL_CERTFILE=str(tmp_path / "cert.pem"),
        KAFKA_SSL_KEYFILE=str(tmp_path / "key.pem"),
    )
    s = load_settings(env=env)
    assert s.ssl_cafile == str(tmp_path / "ca.pem")
    assert s.ssl_keyfile == str(tmp_path / "key.pem")


def test_ssl_file_that_is_a_directory_is_rejected(tmp_path: Path, env: dict[str, str]) -> None:
    env["KAFKA_SSL_CAFILE"] = str(tmp_path)
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env)
    assert_names(excinfo.value, "KAFKA_SSL_CAFILE", "(from env)", "is a directory")


# --- idempotence and acks ---------------------------------------------------------------------


@pytest.mark.parametrize(("acks", "expected"), [("1", 1), ("0", 0)])
def test_lower_acks_turns_default_idempotence_off(
    env: dict[str, str], acks: str, expected: int
) -> None:
    env["KAFKA_PRODUCER_ACKS"] = acks
    s = load_settings(env=env)
    assert s.producer_acks == expected
    assert s.producer_idempotent is False
    assert s.sources["producer_acks"] == "env"
    assert s.sources["producer_idempotent"].startswith("default")


def test_acks_one_with_explicit_idempotence_is_an_error(env: dict[str, str]) -> None:
    env.update(KAFKA_PRODUCER_ACKS="1", KAFKA_PRODUCER_IDEMPOTENT="true")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env)
    err = excinfo.value
    assert err.setting == "KAFKA_PRODUCER_IDEMPOTENT"
    assert err.source == "env"
    assert_names(err, "KAFKA_PRODUCER_IDEMPOTENT", "(from env)", "acks=all")


def test_acks_one_from_flag_with_idempotence_from_file_is_an_error(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = context_file(tmp_path, "producer-idempotent = true\n", name="prod")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(flags={"producer_acks": "1"}, env=env, config_path=str(path))
    assert excinfo.value.source == "file:prod"
    assert_names(excinfo.value, "acks=all", "flag")


def test_acks_one_with_idempotence_explicitly_off(env: dict[str, str]) -> None:
    env.update(KAFKA_PRODUCER_ACKS="1", KAFKA_PRODUCER_IDEMPOTENT="false")
    s = load_settings(env=env)
    assert s.producer_acks == 1
    assert s.producer_idempotent is False
    assert s.sources["producer_idempotent"] == "env"


def test_acks_all_keeps_idempotence(env: dict[str, str]) -> None:
    env["KAFKA_PRODUCER_ACKS"] = "all"
    s = load_settings(env=env)
    assert s.producer_idempotent is True
    assert s.sources["producer_idempotent"] == "default"


# --- masking ----------------------------------------------------------------------------------


@pytest.fixture
def sasl_settings(env: dict[str, str]):
    env.update(
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        KAFKA_SASL_MECHANISM="PLAIN",
        KAFKA_SASL_USERNAME="alice",
        KAFKA_SASL_PASSWORD=PASSWORD,
    )
    return load_settings(env=env)


def test_rows_never_show_the_password(sasl_settings) -> None:
    rows = sasl_settings.rows()
    assert all(PASSWORD not in cell for row in rows for cell in row)
    by_env = {var: (value, source) for var, value, source in rows}
    assert by_env["KAFKA_SASL_PASSWORD"] == (MASK, "env")
    assert by_env["KAFKA_SASL_USERNAME"] == ("alice", "env")


def test_as_dict_never_shows_the_password(sasl_settings) -> None:
    data = sasl_settings.as_dict()
    assert PASSWORD not in json.dumps(data)
    assert data["sasl_password"] == {"value": MASK, "env": "KAFKA_SASL_PASSWORD", "source": "env"}
    assert data["sasl_username"]["value"] == "alice"


def test_password_from_file_is_masked_too(tmp_path: Path, env: dict[str, str]) -> None:
    path = context_file(
        tmp_path,
        f"""
        security-protocol = "SASL_SSL"
        sasl-mechanism = "PLAIN"
        sasl-username = "bob"
        sasl-password = "{PASSWORD}"
        """,
    )
    s = load_settings(env=env, config_path=str(path))
    assert s.sources["sasl_password"] == "file:ctx"
    assert PASSWORD not in json.dumps(s.as_dict())
    assert all(PASSWORD not in cell for row in s.rows() for cell in row)
    assert s.secrets() == [PASSWORD]


def test_secrets_returns_the_password(sasl_settings) -> None:
    assert sasl_settings.secrets() == [PASSWORD]
    assert sasl_settings.sasl_password == PASSWORD


def test_no_password_means_no_secrets(env: dict[str, str]) -> None:
    s = load_settings(env=env)
    assert s.secrets() == []
    assert dict((var, value) for var, value, _ in s.rows())["KAFKA_SASL_PASSWORD"] == "-"
    assert s.as_dict()["sasl_password"]["value"] is None


def test_rows_cover_every_setting_with_display_values(env: dict[str, str]) -> None:
    env["KAFKA_RECONNECT_BACKOFF_MIN"] = "250ms"
    s = load_settings(flags={"brokers": "a:1,b:2"}, env=env)
    rows = s.rows()
    assert [var for var, _, _ in rows] == [spec.env for spec in SPECS]
    by_env = {var: (value, source) for var, value, source in rows}
    assert by_env["KAFKA_BROKERS"] == ("a:1,b:2", "flag")
    assert by_env["KAFKA_RECONNECT_BACKOFF_MIN"] == ("250ms", "env")
    assert by_env["KAFKA_RECONNECT_BACKOFF_MAX"] == ("30s", "default")
    assert by_env["KAFKA_RETRY_DELAYS"] == ("1s,10s,1m", "default")
    assert by_env["KAFKA_PRODUCER_IDEMPOTENT"] == ("true", "default")
    assert by_env["KAFKA_METRICS_PORT"] == ("-", "default")


def test_as_dict_is_json_ready(env: dict[str, str]) -> None:
    data = load_settings(flags={"brokers": "a:1,b:2"}, env=env).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["brokers"] == {"value": ["a:1", "b:2"], "env": "KAFKA_BROKERS", "source": "flag"}
    assert data["retry_delays"]["value"] == [1.0, 10.0, 60.0]


def test_number_of_retry_tiers_follows_retry_delays(env: dict[str, str]) -> None:
    env["KAFKA_RETRY_DELAYS"] = "5s,30s"
    s = load_settings(env=env)
    assert s.retry_delays == (5.0, 30.0)
    assert len(s.retry_delays) == 2


# --- hostile values: bytes that are not UTF-8, empty broker lists, numbers out of range -------


@pytest.mark.parametrize("var", ["KAFKA_CLIENT_ID", "KAFKA_BROKERS", "KAFKACTL_CONTEXT"])
def test_an_env_value_that_is_not_utf8_names_the_variable(env: dict[str, str], var: str) -> None:
    env[var] = "ab\udcff"  # how Python hands over the byte 0xff of the environment
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env)
    assert str(excinfo.value) == f"{var} (from env): is not valid UTF-8: 'ab\\xff'"


def test_a_config_file_line_that_is_not_utf8_names_the_line_and_setting(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b'current-context = "c"\n[contexts.c]\nclient-id = "a\xffb"\n')
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, config_path=str(path))
    message = str(excinfo.value)
    assert "line 3 (setting client-id) is not valid UTF-8" in message
    assert "\\xff" in message
    assert "\n" not in message


def test_a_flag_value_that_is_not_utf8_names_the_flag(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings({"client_id": "x\udcfe"}, env=env, flag_names={"client_id": "--client"})
    assert str(excinfo.value) == "--client (from flag): is not valid UTF-8: 'x\\xfe'"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "is empty"),
        ("  ", "is empty"),
        (",", "is empty"),
        ("a:1,,b:2", "entry 2 of 3 is empty"),
        ("a:1,", "entry 2 of 2 is empty"),
        ("a:0", "1 to 65535"),
        ("a:65536", "1 to 65535"),
        ("a:\u0669\u0660\u0669\u0662", "1 to 65535"),  # Arabic-Indic digits are no port
        ("a b:1", "is not host:port"),
        (":9092", "is not host:port"),
    ],
)
def test_an_empty_or_malformed_broker_list_is_an_error(
    env: dict[str, str], value: str, fragment: str
) -> None:
    env["KAFKA_BROKERS"] = value
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env)
    assert_names(excinfo.value, "KAFKA_BROKERS (from env)", fragment)


def test_broker_flags_are_named_as_the_flag(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings({"brokers": ""}, env=env, flag_names={"brokers": "--brokers"})
    assert_names(excinfo.value, "--brokers (from flag)", "is empty")


def test_ipv6_brokers_are_fine(env: dict[str, str]) -> None:
    env["KAFKA_BROKERS"] = "[::1]:9092,localhost:9093"
    assert load_settings(env=env).brokers == ("[::1]:9092", "localhost:9093")


@pytest.mark.parametrize(
    ("var", "raw", "fragment"),
    [
        ("KAFKA_CONNECT_TIMEOUT", "nan", "not a duration"),
        ("KAFKA_CONNECT_TIMEOUT", "9" * 400, "not a finite duration"),
        ("KAFKA_CONNECT_TIMEOUT", "2d", "at most 24h"),
        ("KAFKA_CONNECT_TIMEOUT", "0.0001ms", "at least 1ms"),
        ("KAFKA_HEALTH_INTERVAL", "-1s", "not a duration"),
        ("KAFKA_RECONNECT_BACKOFF_MAX", "2h", "at most 1h"),
        ("KAFKA_RETRY_DELAYS", "1s,0s", "at least 1ms"),
        ("KAFKA_RETRY_DELAYS", "1s,30d", "at most"),
        ("KAFKA_PRODUCER_RETRIES", "1e3", "whole number"),
        ("KAFKA_PRODUCER_RETRIES", "2147483648", "from 0 to 2147483647"),
        ("KAFKA_PRODUCER_LINGER_MS", "900001", "from 0 to 900000"),
        ("KAFKA_PRODUCER_BATCH_SIZE", "99999999999", "from 1 to 2147483647"),
        ("KAFKA_CONSUMER_FETCH_MIN_BYTES", "100000001", "from 1 to 100000000"),
        ("KAFKA_CONSUMER_FETCH_MAX_BYTES", "0", "from 1 to"),
        ("KAFKA_CONSUMER_MAX_POLL_RECORDS", "-1", "from 1 to 1000000"),
        ("KAFKA_CONSUMER_WORKERS", "\u0664", "whole number"),  # a digit, not an ASCII one
        ("KAFKA_CONSUMER_GROUP_ID", "bad/group", "group name 'bad/group'"),
        ("KAFKA_CONSUMER_GROUP_ID", "g" * 250, "at most 249"),
    ],
)
def test_numbers_and_names_out_of_range_are_refused(
    env: dict[str, str], var: str, raw: str, fragment: str
) -> None:
    env[var] = raw
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env)
    assert_names(excinfo.value, f"{var} (from env)", fragment)


# --- Settings and the SPECS table agree -------------------------------------------------------

BOOKKEEPING = ("sources", "context", "config_file")


def _matches(value: object, hint: object) -> bool:
    """True when `value` is of the type `hint` names (unions, tuple[X, ...], None)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        return isinstance(value, tuple) and all(_matches(v, item) for v in value)
    if hint is type(None):
        return value is None
    assert isinstance(hint, type), hint
    return isinstance(value, hint)


def test_settings_has_one_field_per_spec_in_the_table_order() -> None:
    names = [f.name for f in dataclasses.fields(Settings)]
    assert names == [spec.name for spec in SPECS] + list(BOOKKEEPING)


def test_each_field_type_holds_the_parsed_default_and_none_only_without_one() -> None:
    hints = typing.get_type_hints(Settings)
    for spec in SPECS:
        hint = hints[spec.name]
        assert _matches(None, hint) == (spec.default is None), spec.name
        if spec.default is not None:
            assert _matches(spec.parse(spec.default), hint), spec.name


def test_secret_fields_stay_out_of_repr(env: dict[str, str]) -> None:
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    assert [s.name for s in SPECS if s.secret] == [
        "sasl_password",
        "sasl_oauth_client_secret",
        "schema_registry_password",
    ]
    for spec in SPECS:
        # -X options may carry secrets (sasl.password=...): never in a repr either.
        hidden = spec.secret or spec.name == "client_options"
        assert fields[spec.name].repr is not hidden, spec.name
    settings = load_settings(
        env={
            **env,
            "KAFKA_SASL_PASSWORD": PASSWORD,
            "KAFKA_SCHEMA_REGISTRY_USERNAME": "reader",
            "KAFKA_SCHEMA_REGISTRY_PASSWORD": PASSWORD + "-registry",
        }
    )
    assert PASSWORD not in repr(settings)
    assert PASSWORD + "-registry" not in str(settings.rows())


# --- the schema registry settings -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://localhost:8081", "http://localhost:8081"),
        ("https://registry.example/apis/ccompat/v7/", "https://registry.example/apis/ccompat/v7"),
    ],
)
def test_registry_url_accepted(env: dict[str, str], raw: str, expected: str) -> None:
    settings = load_settings(env={**env, "KAFKA_SCHEMA_REGISTRY_URL": raw})
    assert settings.schema_registry_url == expected
    assert ("KAFKA_SCHEMA_REGISTRY_URL", expected, "env") in settings.rows()


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("localhost:8081", "not an http:// or https:// URL"),
        ("ftp://host", "not an http:// or https:// URL"),
        ("http://host:99999", "valid port"),
        ("http://user:secret@host:8081", "must not carry user:password@"),
    ],
)
def test_bad_registry_url_is_exit_2_naming_the_setting(
    env: dict[str, str], raw: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={**env, "KAFKA_SCHEMA_REGISTRY_URL": raw})
    assert caught.value.exit_code == EXIT_USAGE
    assert str(caught.value).startswith("KAFKA_SCHEMA_REGISTRY_URL (from env): ")
    assert problem in str(caught.value)
    assert "secret" not in str(caught.value)


def test_registry_basic_auth_needs_user_and_password(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"KAFKA_SCHEMA_REGISTRY_PASSWORD .*needs both"):
        load_settings(env={**env, "KAFKA_SCHEMA_REGISTRY_USERNAME": "reader"})
    with pytest.raises(ConfigError, match="KAFKA_SCHEMA_REGISTRY_USERNAME"):
        load_settings(env={**env, "KAFKA_SCHEMA_REGISTRY_PASSWORD": "pw"})


# --- files by kind and size (issue 22) ---------------------------------------------------------


def _kinds(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Paths that are no small regular file, with what the error must say of each."""
    import os

    (tmp_path / "a-dir").mkdir()
    os.mkfifo(tmp_path / "a-fifo")
    (tmp_path / "big").write_bytes(b"#" * (3 * 1024 * 1024))
    return {
        "directory": (str(tmp_path / "a-dir"), "is a directory"),
        "fifo": (str(tmp_path / "a-fifo"), "is a FIFO"),
        "device": ("/dev/zero", "is a device"),
        "big": (str(tmp_path / "big"), "is 3 MiB;"),
    }


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "big"])
def test_a_config_file_is_checked_by_kind_and_size_before_it_is_read(
    tmp_path: Path, env: dict[str, str], kind: str
) -> None:
    path, says = _kinds(tmp_path)[kind]
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, config_path=path)
    assert_names(excinfo.value, "--config", path, says)
    if kind == "big":
        assert "config files are at most 1 MiB" in str(excinfo.value)
    env["KAFKACTL_CONFIG"] = path
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env)
    assert_names(excinfo.value, "KAFKACTL_CONFIG", says)


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "big"])
@pytest.mark.parametrize(
    "var",
    [
        "KAFKA_SASL_PASSWORD_FILE",
        "KAFKA_SSL_CAFILE",
        "KAFKA_SSL_CERTFILE",
        "KAFKA_SSL_KEYFILE",
        "KAFKA_SCHEMA_REGISTRY_CAFILE",
    ],
)
def test_secret_and_certificate_files_are_checked_by_kind_and_size(
    tmp_path: Path, env: dict[str, str], var: str, kind: str
) -> None:
    path, says = _kinds(tmp_path)[kind]
    env[var] = path
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env)
    assert_names(excinfo.value, var, says)
    assert "does not exist" not in str(excinfo.value)


def test_a_config_file_nested_thousands_deep_is_one_config_error(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = write_toml(tmp_path, "a = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env, config_path=str(path))
    assert_names(excinfo.value, str(path), "too deeply")


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + CONTEXTS_TOML.encode())
    assert load_settings(env=env, config_path=str(path)).brokers == ("local1:9092",)


def test_a_password_file_is_read_through_the_size_check(
    tmp_path: Path, env: dict[str, str]
) -> None:
    from kafkactl.config.files import MAX_FILE_BYTES, read_small_file

    path = tmp_path / "pw"
    path.write_bytes(b"x" * MAX_FILE_BYTES)
    assert len(read_small_file(path)) == MAX_FILE_BYTES
    path.write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ValueError, match="at most 1 MiB"):
        read_small_file(path)


# --- the open-file limit (issue 22) -------------------------------------------------------------


def test_too_low_an_open_file_limit_is_one_usage_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    from kafkactl.config.files import check_open_file_limit
    from kafkactl.errors import UsageError

    monkeypatch.setattr(resource, "getrlimit", lambda which: (6, 6))
    with pytest.raises(UsageError) as excinfo:
        check_open_file_limit()
    assert str(excinfo.value) == (
        "the open-file limit is 6 (ulimit -n); kafkactl needs at least 64 (a socket and pipes "
        "per broker and client): raise it, e.g. ulimit -n 4096"
    )
    assert excinfo.value.exit_code == EXIT_USAGE


def test_a_low_soft_limit_is_raised_towards_the_hard_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    from kafkactl.config.files import check_open_file_limit

    asked: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda which: (8, 4096))
    monkeypatch.setattr(resource, "setrlimit", lambda which, limits: asked.append(limits))
    check_open_file_limit()
    assert asked == [(1024, 4096)]


@pytest.mark.parametrize(
    "error",
    [
        OSError(24, "Too many open files"),
        OSError(23, "Too many open files in system"),
        "127.0.0.1:9092/bootstrap: Failed to create socket: Too many open files (after 0ms)",
    ],
)
def test_running_out_of_descriptors_is_told_from_other_errors(error: object) -> None:
    from kafkactl.config.files import out_of_files

    found = out_of_files(error)  # type: ignore[arg-type]
    assert found is not None and str(found).startswith("too many open files")
    assert out_of_files(OSError(111, "Connection refused")) is None
