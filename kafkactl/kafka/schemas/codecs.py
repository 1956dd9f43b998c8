"""Encoders (documents -> wire format) on confluent-kafka's Avro, JSON Schema and Protobuf
serializers; the decoder is in `decoder`.

A document that does not fit is SchemaMismatch (an invalid input line). The framing (magic
byte, schema id, Protobuf message indexes) is the library's.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from confluent_kafka.schema_registry import SchemaRegistryError, prefix_schema_id_serializer
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.serde import SchemaId
from confluent_kafka.serialization import MessageField, SerializationContext

from kafkactl.errors import KafkactlError, SchemaMismatch
from kafkactl.kafka.schemas.answers import RegistryAnswer
from kafkactl.schemas.model import Field, SchemaKind, SchemaRequest, subject_for

if TYPE_CHECKING:
    from kafkactl.kafka.schemas.registry import RegistryClient


def _context(topic: str, field: Field) -> SerializationContext:
    return SerializationContext(topic, MessageField.KEY if field == "key" else MessageField.VALUE)


def _strategy(subject: str) -> Callable[[Any, Any], str]:
    """A subject name strategy that always answers `subject` (the one we registered under)."""
    return lambda ctx, record_name: subject


@dataclass
class SchemaEncoder:
    """Encodes documents with one schema (kafkactl.schemas.Encoder)."""

    subject: str
    schema_id: int
    version: int | None
    kind: SchemaKind
    encode_document: Callable[[Any], bytes]

    def encode(self, document: Any) -> bytes:
        """Wire-format bytes of `document`; SchemaMismatch when it does not fit."""
        return self.encode_document(document)


# --- Avro ---------------------------------------------------------------------------------


def _serializing(
    registry: RegistryClient,
    subject: str,
    serialize: Callable[[], Any],
    reason: Callable[[Exception], str],
) -> bytes:
    """Run one serializer call, its failures mapped once for every kind: the registry's own
    errors and an unreachable registry stop the run; anything else is this document's fault
    (an invalid line, with `reason`)."""
    try:
        data = serialize()
    except KafkactlError:
        raise
    except SchemaRegistryError as exc:
        raise registry.mapped(exc, f"encoding for {subject}", subject) from None
    except RegistryAnswer as exc:
        raise registry.odd_answer(exc, f"encoding for {subject}") from None
    except Exception as exc:
        if is_transport(exc):
            raise registry.unreachable(exc, f"encoding for {subject}") from None
        raise SchemaMismatch(reason(exc)) from None
    if data is None:
        raise SchemaMismatch("null is not a document of this schema")
    return bytes(data)


def _avro_reason(exc: Exception) -> str:
    """fastavro's validation errors as one line."""
    from fastavro.validation import ValidationError

    if isinstance(exc, ValidationError):
        lines = [str(e) for e in exc.errors] if exc.errors else [str(exc)]
        return "; ".join(line.replace("<class '", "").replace("'>", "") for line in lines[:3])
    return str(exc) or type(exc).__name__


def _avro_encoder(
    registry: RegistryClient,
    text: str | None,
    subject: str,
    topic: str,
    field: Field,
    register: bool,
) -> Callable[[Any], bytes]:
    import fastavro
    from fastavro.validation import validate

    client = registry.client
    if text is None:  # the subject's latest version
        text = registry.latest(subject).schema.schema_str
        conf: dict[str, Any] = {"auto.register.schemas": False, "use.latest.version": True}
        schema_arg: str | None = None
    else:
        conf = {"auto.register.schemas": register}
        schema_arg = text
    try:
        parsed = fastavro.parse_schema(json.loads(text))
    except Exception as exc:
        raise SchemaMismatch(f"the Avro schema does not parse: {exc}") from None
    conf.update(
        {"subject.name.strategy": _strategy(subject), "validate.strict.allow.default": True}
    )
    serializer = AvroSerializer(client, schema_arg, conf=conf)
    ctx = _context(topic, field)

    def checked(document: Any) -> Any:
        # fastavro's writer truncates 1.5 to an int and wraps numbers too big for their
        # type; validating first makes those invalid lines, not silently wrong records.
        validate(document, parsed, raise_errors=True)
        return serializer(document, ctx)

    def encode(document: Any) -> bytes:
        return _serializing(registry, subject, lambda: checked(document), _avro_reason)

    return encode


# --- JSON Schema --------------------------------------------------------------------------


def _json_reason(exc: Exception, text: str | None, document: Any) -> str:
    """The validation error with where it is (`$.items[0].id: ...`)."""
    if text is not None:
        try:
            import jsonschema

            schema = json.loads(text)
            validator = jsonschema.validators.validator_for(schema)(schema)
            best = jsonschema.exceptions.best_match(validator.iter_errors(document))
            if best is not None:
                return f"{best.json_path}: {best.message}"
        except Exception:
            pass
    return str(exc) or type(exc).__name__


def _json_encoder(
    registry: RegistryClient,
    text: str | None,
    subject: str,
    topic: str,
    field: Field,
    register: bool,
) -> Callable[[Any], bytes]:
    client = registry.client
    if text is None:
        text = registry.latest(subject).schema.schema_str
        conf: dict[str, Any] = {"auto.register.schemas": False, "use.latest.version": True}
        schema_arg: str | None = None
    else:
        try:
            json.loads(text)
        except ValueError as exc:
            raise SchemaMismatch(f"the JSON Schema is not JSON: {exc}") from None
        conf = {"auto.register.schemas": register}
        schema_arg = text
    conf["subject.name.strategy"] = _strategy(subject)
    serializer = JSONSerializer(schema_arg, client, conf=conf)
    ctx = _context(topic, field)

    def encode(document: Any) -> bytes:
        return _serializing(
            registry,
            subject,
            lambda: serializer(document, ctx),
            lambda exc: _json_reason(exc, text, document),
        )

    return encode


# --- Protobuf -----------------------------------------------------------------------------


def _protobuf_encoder(
    registry: RegistryClient,
    cls: type,
    subject: str,
    topic: str,
    field: Field,
    register: bool,
    text_id: int | None,
) -> Callable[[Any], bytes]:
    """`text_id` set: the schema is .proto text in the registry under that id (another tool
    registered it); confluent-kafka's serializer can only use schemas it registered itself
    (base64 descriptors) on this registry, so the message is framed with the library's
    SchemaId for that id. Otherwise ProtobufSerializer registers (or finds) the schema."""
    from confluent_kafka.schema_registry.common.protobuf import _create_index_array
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
    from google.protobuf import json_format

    ctx = _context(topic, field)
    if text_id is not None:
        indexes = _create_index_array(cls.DESCRIPTOR)  # type: ignore[attr-defined]

        def serialize(message: Any, _: Any) -> bytes:
            schema_id = SchemaId("PROTOBUF", text_id, None, indexes)
            return bytes(prefix_schema_id_serializer(message.SerializeToString(), ctx, schema_id))

    else:
        serializer = ProtobufSerializer(
            cls,
            registry.client,
            {
                "auto.register.schemas": register,
                "use.deprecated.format": False,
                "subject.name.strategy": _strategy(subject),
            },
        )
        serialize = serializer

    def encode(document: Any) -> bytes:
        try:
            message = json_format.ParseDict(document, cls())
        except Exception as exc:
            raise SchemaMismatch(str(exc) or type(exc).__name__) from None
        return _serializing(
            registry,
            subject,
            lambda: serialize(message, ctx),
            lambda exc: str(exc) or type(exc).__name__,
        )

    return encode


def _protobuf_from_file(request: SchemaRequest) -> type:
    from kafkactl.kafka.schemas.protobuf import compile_proto, message_class, pool_of_set

    assert request.text is not None
    import os

    include = os.path.dirname(os.path.abspath(request.path)) if request.path else None
    name = os.path.basename(request.path) if request.path else "schema.proto"
    pool, file = pool_of_set(compile_proto(request.text, name, include))
    return message_class(pool, file, request.message)


def _is_base64_descriptor(text: str) -> bool:
    stripped = text.strip()
    return "syntax" not in stripped and "message" not in stripped


# --- building encoders --------------------------------------------------------------------


def build_encoder(registry: RegistryClient, request: SchemaRequest, topic: str) -> SchemaEncoder:
    """The encoder of a produce request: register (or look up) the schema file now, or take
    the subject's latest version; errors surface here, before any line is read."""
    subject = request.subject
    if request.text is None:
        latest = registry.latest(subject)
        kind: SchemaKind = kind_of(latest.schema.schema_type)
        return _encoder_for_registered(
            registry,
            latest.schema,
            int(latest.schema_id),
            topic,
            request.field,
            subject,
            register=False,
            message=request.message,
            version=int(latest.version),
        )
    kind = request.kind or "AVRO"
    if kind == "PROTOBUF":
        cls = _protobuf_from_file(request)
        encode = _protobuf_encoder(
            registry, cls, subject, topic, request.field, request.register, None
        )
        # The serializer registers (or looks up) on its first message: do it now, with an
        # empty message, so a refused schema stops the run before any line.
        with registry.calling(f"registering a schema under {subject}", subject):
            framed = encode({})
        schema_id = SchemaId("PROTOBUF")
        schema_id.from_bytes(io.BytesIO(framed))
        sid = int(schema_id.id or 0)
        return SchemaEncoder(subject, sid, registry.version_of(subject, sid), kind, encode)
    if request.register:
        sid = registry.register(subject, kind, request.text)
    else:
        sid = registry.lookup(subject, kind, request.text)
    make = _avro_encoder if kind == "AVRO" else _json_encoder
    encode = make(registry, request.text, subject, topic, request.field, request.register)
    return SchemaEncoder(subject, sid, registry.version_of(subject, sid), kind, encode)


def encoder_for_schema(
    registry: RegistryClient, schema: Any, schema_id: int, topic: str, field: Field
) -> SchemaEncoder:
    """An encoder for a schema fetched by id (an envelope's `value_schema_id`): registered
    under the topic's subject like a schema file, so a copy to another topic stays readable."""
    subject = subject_for(topic, field)
    return _encoder_for_registered(
        registry,
        schema,
        schema_id,
        topic,
        field,
        subject,
        register=True,
        message=None,
        version=None,
    )


def _encoder_for_registered(
    registry: RegistryClient,
    schema: Any,
    schema_id: int,
    topic: str,
    field: Field,
    subject: str,
    register: bool,
    message: str | None,
    version: int | None,
) -> SchemaEncoder:
    kind = kind_of(schema.schema_type)
    text: str = schema.schema_str
    if kind == "PROTOBUF":
        from kafkactl.kafka.schemas.protobuf import message_class, pool_of_registry_text

        pool, file = pool_of_registry_text(text)
        cls = message_class(pool, file, message)
        text_id: int | None = None
        if not _is_base64_descriptor(text):
            text_id = registry.register(subject, kind, text) if register else schema_id
        elif version is not None:
            register = False  # the latest version: found, not registered again
        encode = _protobuf_encoder(registry, cls, subject, topic, field, register, text_id)
        return SchemaEncoder(subject, text_id or schema_id, version, kind, encode)
    if register:
        schema_id = registry.register(subject, kind, text)
        make = _avro_encoder if kind == "AVRO" else _json_encoder
        encode = make(registry, text, subject, topic, field, True)
    else:
        make = _avro_encoder if kind == "AVRO" else _json_encoder
        encode = make(registry, None, subject, topic, field, False)
    return SchemaEncoder(subject, schema_id, version, kind, encode)


def kind_of(name: str | None) -> SchemaKind:
    """A registry's schemaType (absent: Avro, the registry's default)."""
    if name == "JSON":
        return "JSON"
    if name == "PROTOBUF":
        return "PROTOBUF"
    return "AVRO"


def is_transport(exc: BaseException) -> bool:
    """An HTTP transport error (the registry did not answer)."""
    return any(c.__name__ in ("TransportError", "ConnectError") for c in type(exc).__mro__)


__all__ = ["SchemaEncoder", "build_encoder", "encoder_for_schema"]
