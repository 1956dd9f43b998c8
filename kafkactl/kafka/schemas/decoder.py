"""The decoder of wire-format records (consume): the schema id read with the library's SchemaId,
the schema fetched once per id, the body read with confluent-kafka's Avro, JSON Schema or
Protobuf deserializer. What cannot be read is RecordDecodeError (a `decode` failure)."""

from __future__ import annotations

import io
import threading
import time
from typing import TYPE_CHECKING, Any

from confluent_kafka.schema_registry import SchemaRegistryError
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer
from confluent_kafka.schema_registry.serde import SchemaId

from kafkactl.errors import RecordDecodeError, SchemaMismatch
from kafkactl.kafka.schemas.answers import RegistryAnswer
from kafkactl.kafka.schemas.codecs import is_transport, kind_of
from kafkactl.schemas.model import Decoded, Field, SchemaKind

if TYPE_CHECKING:
    from kafkactl.kafka.schemas.registry import RegistryClient

# After the registry failed to answer a schema fetch, fetches fail at once for this long, so
# an outage sends records to the DLQ at the pace of the topic rather than of the retries.
UNREACHABLE_HOLD_S = 5.0
_MAGIC = 0  # confluent-kafka's _MAGIC_BYTE (schema id in the first 5 bytes)


class RecordDecoder:
    """Decodes wire-format keys and values with the schema their id names (kafkactl.schemas
    .Decoder). Schemas are fetched once per id (the client caches them)."""

    def __init__(self, registry: RegistryClient) -> None:
        self.registry = registry
        # The writer's schema (by the record's id) reads it: no subject, so no lookups of a
        # subject's latest version (or of Confluent's associations) per record.
        no_subject = {"subject.name.strategy": lambda ctx, record_name: None}
        self._avro = AvroDeserializer(registry.client, conf=no_subject)
        self._json = JSONDeserializer(None, schema_registry_client=registry.client, conf=no_subject)
        self._protobuf: dict[tuple[int, tuple[int, ...]], Any] = {}
        self._kinds: dict[int, tuple[SchemaKind, str]] = {}
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._down_reason = ""

    def framed(self, data: bytes | None) -> bool:
        """Whether `data` starts like a wire-format record (magic byte 0 and a schema id)."""
        return data is not None and len(data) >= 5 and data[0] == _MAGIC

    def decode(self, data: bytes, topic: str, field: Field) -> Decoded:
        """The document in `data`; RecordDecodeError saying why it cannot be read."""
        schema_id = SchemaId("AVRO")
        try:
            schema_id.from_bytes(io.BytesIO(data))
        except Exception as exc:
            raise RecordDecodeError(f"not in the schema registry's wire format: {exc}") from None
        sid = int(schema_id.id or 0)
        kind, text = self._schema(sid)
        try:
            if kind == "AVRO":
                document = self._avro(data, None)
            elif kind == "JSON":
                document = self._json(data, None)
            else:
                document = self._decode_protobuf(data, sid, text)
        except RecordDecodeError:
            raise
        except Exception as exc:
            if is_transport(exc) or isinstance(exc, RegistryAnswer):
                raise RecordDecodeError(self._unreachable(exc, sid)) from None
            label = {"AVRO": "Avro", "JSON": "JSON Schema", "PROTOBUF": "Protobuf"}[kind]
            reason = str(exc) or type(exc).__name__
            raise RecordDecodeError(
                f"the {field} does not decode with schema id {sid} ({label}): {reason}"
            ) from None
        return Decoded(document, sid)

    def _schema(self, sid: int) -> tuple[SchemaKind, str]:
        with self._lock:
            found = self._kinds.get(sid)
            if found is not None:
                return found
            if time.monotonic() < self._down_until:
                raise RecordDecodeError(f"{self._down_reason} (schema id {sid})")
        try:
            schema = self.registry.client.get_schema(sid)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise RecordDecodeError(
                    f"schema id {sid} is not in the schema registry at {self.registry.url}"
                ) from None
            raise RecordDecodeError(self._unreachable(exc, sid)) from None
        except Exception as exc:
            raise RecordDecodeError(self._unreachable(exc, sid)) from None
        found = (kind_of(schema.schema_type), str(schema.schema_str or ""))
        with self._lock:
            self._kinds[sid] = found
        return found

    def _unreachable(self, exc: BaseException, sid: int) -> str:
        if isinstance(exc, SchemaRegistryError) or is_transport(exc):
            reason = (
                f"the schema registry at {self.registry.url} could not be reached "
                f"({exc.__class__.__name__}: {exc})"
            )
        else:  # an answer no registry gives: empty, not JSON, too large, the wrong shape
            reason = str(self.registry.odd_answer(exc, "fetching a schema"))
        with self._lock:
            self._down_until = time.monotonic() + UNREACHABLE_HOLD_S
            self._down_reason = reason
        return f"{reason} (schema id {sid})"

    def _decode_protobuf(self, data: bytes, sid: int, text: str) -> Any:
        from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
        from google.protobuf import json_format

        schema_id = SchemaId("PROTOBUF")
        schema_id.from_bytes(io.BytesIO(data))
        indexes = tuple(schema_id.message_indexes or [0])
        key = (sid, indexes)
        with self._lock:
            deserializer = self._protobuf.get(key)
        if deserializer is None:
            from kafkactl.kafka.schemas.protobuf import message_by_indexes, pool_of_registry_text

            try:
                pool, file = pool_of_registry_text(text)
                cls = message_by_indexes(pool, file, list(indexes))
            except SchemaMismatch as exc:
                raise RecordDecodeError(f"schema id {sid} (Protobuf): {exc.reason}") from None
            # The class comes from the writer's schema: no registry lookups per record.
            deserializer = ProtobufDeserializer(cls, {"use.deprecated.format": False}, None)
            with self._lock:
                self._protobuf[key] = deserializer
        message = deserializer(data, None)
        return json_format.MessageToDict(
            message,
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True,
        )
