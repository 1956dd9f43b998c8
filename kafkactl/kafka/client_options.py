"""`-X key=value`: client settings kafkactl does not model, passed to the engine's clients.

On librdkafka the keys are librdkafka's own (CONFIGURATION.md), checked by librdkafka itself
when the command starts. On kafka-python the keys are its keyword names (`linger_ms`) or the
Java/librdkafka dotted spelling (`linger.ms`, `ssl.ca.location`), translated; values are
converted to the type of kafka-python's default. An unknown key or a bad value is exit 2
before any connection, naming the key and the engine. The admin client is kafka-python's on
both engines: it takes the keys that translate to one of its settings.
"""

from __future__ import annotations

from typing import Any, Literal

from kafkactl.config import Settings
from kafkactl.errors import ConfigError

ClientKind = Literal["producer", "consumer", "admin"]

# Settings kafkactl's guarantees rest on: -X may not change them (the reason says what to use).
MANAGED = {
    "bootstrap.servers": "use --brokers (KAFKA_BROKERS)",
    "group.id": "use -g (KAFKA_CONSUMER_GROUP_ID)",
    "enable.auto.commit": "kafkactl commits what its handlers finished (at-least-once)",
    "enable.auto.offset.store": "kafkactl stores the offsets it commits",
    "enable.partition.eof": "consume -e relies on it",
    "isolation.level": "use --isolation-level",
    "security.protocol": "use KAFKA_SECURITY_PROTOCOL",
    "sasl.mechanism": "use KAFKA_SASL_MECHANISM",
    "sasl.mechanisms": "use KAFKA_SASL_MECHANISM",
}

# Dotted (Java, librdkafka) names whose kafka-python keyword is not the same name with `_`.
KAFKA_PYTHON_NAMES = {
    "sasl.username": "sasl_plain_username",
    "sasl.password": "sasl_plain_password",
    "ssl.ca.location": "ssl_cafile",
    "ssl.certificate.location": "ssl_certfile",
    "ssl.key.location": "ssl_keyfile",
    "ssl.key.password": "ssl_password",
    "ssl.truststore.location": "ssl_cafile",
    "compression.codec": "compression_type",
    "queue.buffering.max.ms": "linger_ms",
    "message.max.bytes": "max_request_size",
    "max.request.size": "max_request_size",
    "socket.send.buffer.bytes": "send_buffer_bytes",
    "socket.receive.buffer.bytes": "receive_buffer_bytes",
}

# kafka-python settings that take objects, not text: not settable with -X.
NOT_TEXT = (
    "key_serializer",
    "value_serializer",
    "key_deserializer",
    "value_deserializer",
    "partitioner",
    "sasl_oauth_token_provider",
    "ssl_context",
    "selector",
    "metric_reporters",
    "socket_options",
    "consumer_interceptors",
    "kafka_client",
    "api_version",
    "sock_chunk_bytes",
    "sock_chunk_buffer_count",
)


def _managed_name(key: str) -> str:
    return key.replace("_", ".").lower()


def check_client_options(settings: Settings, engine: str) -> None:
    """Exit 2 (ConfigError) for a -X key the engine does not know or a value it refuses."""
    options = settings.client_options or ()
    if not options:
        return
    source = settings.sources.get("client_options", "flag")
    for key, _ in options:
        why = MANAGED.get(_managed_name(key))
        if why is not None:
            raise ConfigError(
                _label(source), source, f"{key} is set by kafkactl, not with -X: {why}"
            )
    if engine == "librdkafka":
        _check_librdkafka(options, source)
        return
    for key, value in options:
        name = kafka_python_name(key)
        defaults = kafka_python_defaults()
        if name not in defaults or name in NOT_TEXT:
            raise ConfigError(
                _label(source),
                source,
                f"{key} is not a kafka-python setting (the engine is kafka-python: use its "
                "names, e.g. linger_ms or linger.ms, or --engine librdkafka for librdkafka's)",
            )
        try:
            typed_value(value, defaults[name])
        except ValueError as exc:
            raise ConfigError(_label(source), source, f"{key}={value!r}: {exc}") from None


def reads_committed(settings: Settings, default: bool) -> bool:
    """Whether a consumer reads only committed transactions: KAFKA_CONSUMER_ISOLATION_LEVEL
    (--isolation-level) when given, else `default` (the caller's: true for replay)."""
    level = settings.consumer_isolation_level
    return default if level is None else level == "read_committed"


def _label(source: str) -> str:
    """The client settings as the user spelled them: -X, the variable, or the file key."""
    if source == "flag":
        return "-X"
    return "client-options" if source.startswith("file:") else "KAFKA_CLIENT_OPTIONS"


def kafka_python_name(key: str) -> str:
    """kafka-python's keyword for a -X key (`linger.ms` -> `linger_ms`)."""
    return KAFKA_PYTHON_NAMES.get(key, key.replace(".", "_").replace("-", "_"))


def kafka_python_defaults(kind: ClientKind | None = None) -> dict[str, Any]:
    """kafka-python's settings and their defaults, for one kind of client or all of them."""
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

    classes = {"producer": KafkaProducer, "consumer": KafkaConsumer, "admin": KafkaAdminClient}
    chosen = [classes[kind]] if kind else list(classes.values())
    out: dict[str, Any] = {}
    for cls in chosen:
        out.update(cls.DEFAULT_CONFIG)
    return out


def typed_value(value: str, default: Any) -> Any:
    """The -X text as the type kafka-python expects (that of the setting's default)."""
    from kafkactl.config.parsers import boolean

    if isinstance(default, bool):
        return boolean(value)
    if isinstance(default, int):
        try:
            return int(value)
        except ValueError:
            raise ValueError("must be a whole number") from None
    if isinstance(default, float):
        try:
            return float(value)
        except ValueError:
            raise ValueError("must be a number") from None
    return value


def kafka_python_options(settings: Settings, kind: ClientKind) -> dict[str, Any]:
    """The -X settings one kafka-python client takes, translated and typed (others skipped:
    the librdkafka engine's keys that the kafka-python admin client does not have)."""
    defaults = kafka_python_defaults(kind)
    out: dict[str, Any] = {}
    for key, value in settings.client_options or ():
        name = kafka_python_name(key)
        if name in defaults and name not in NOT_TEXT and _managed_name(key) not in MANAGED:
            try:
                out[name] = typed_value(value, defaults[name])
            except ValueError:
                continue  # a librdkafka value kafka-python reads otherwise: not for this client
    return out


# The delivery timeout's spellings: librdkafka's two, Java's, kafka-python's keyword.
DELIVERY_TIMEOUT_KEYS = ("delivery.timeout.ms", "message.timeout.ms", "delivery_timeout_ms")


def delivery_timeout_s(settings: Settings) -> float | None:
    """The delivery timeout -X sets, in seconds (None: the engines' 120 s): how long the end of
    a produce waits for acknowledgements depends on it."""
    found = None
    for key, value in settings.client_options or ():
        text = value.strip()
        # ASCII digits within librdkafka's range: kafka-python takes any number, and a bound
        # of years (or below zero) would leave the end of a produce waiting for ever.
        if key in DELIVERY_TIMEOUT_KEYS and text.isascii() and text.isdigit():
            found = min(int(text), 2_147_483_647) / 1000
    return found


def librdkafka_options(settings: Settings) -> dict[str, str]:
    """The -X settings as librdkafka takes them (already checked by librdkafka)."""
    return dict(settings.client_options or ())


def _check_librdkafka(options: tuple[tuple[str, str], ...], source: str) -> None:
    """librdkafka checks names and values when a client is made: make one that never connects."""
    from confluent_kafka import KafkaException, Producer

    from kafkactl.kafka.librdkafka.log import LIBRDKAFKA_LOGGER

    for key, value in options:  # one at a time, so the error names the key as given
        try:
            probe = Producer({key: value, "logger": LIBRDKAFKA_LOGGER})
        except (KafkaException, ValueError, TypeError) as exc:
            err = exc.args[0] if exc.args else exc
            text = err.str() if hasattr(err, "str") else str(err)
            raise ConfigError(
                _label(source),
                source,
                f"{key}: librdkafka refused it ({text}); the engine is librdkafka: use its "
                "property names and values (librdkafka's CONFIGURATION.md)",
            ) from None
        probe.flush(0)
        del probe
