"""The schema-registry port on confluent-kafka (kafkactl.schemas.SchemaRegistry): the client's
subjects, and the encoders and the decoder built over it, cached (DESIGN §14.1)."""

from __future__ import annotations

import threading
from typing import Any

from kafkactl.errors import RegistryError, SchemaMismatch
from kafkactl.kafka.schemas.codecs import build_encoder, encoder_for_schema
from kafkactl.kafka.schemas.decoder import RecordDecoder
from kafkactl.kafka.schemas.registry import RegistryClient
from kafkactl.schemas.model import Field, SchemaRequest


class Registry:
    """A Confluent-compatible schema registry (kafkactl.schemas.SchemaRegistry)."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self.url = client.url
        self._lock = threading.Lock()
        self._encoders: dict[tuple[int, str, Field], Any] = {}
        self._decoder: RecordDecoder | None = None

    def subjects(self) -> list[str]:
        """Every subject the registry knows."""
        return self.client.subjects()

    def encoder(self, request: SchemaRequest, topic: str) -> Any:
        """An encoder for a produce request (kafkactl.schemas.Encoder)."""
        return build_encoder(self.client, request, topic)

    def encoder_for_id(self, schema_id: int, topic: str, field: Field) -> Any:
        """An encoder for the schema with this id (cached); SchemaMismatch for an unknown id."""
        key = (schema_id, topic, field)
        with self._lock:
            found = self._encoders.get(key)
        if found is not None:
            return found
        try:
            schema = self.client.schema_by_id(schema_id)
        except RegistryError:
            raise SchemaMismatch(f"no schema with id {schema_id} at {self.url}") from None
        encoder = encoder_for_schema(self.client, schema, schema_id, topic, field)
        with self._lock:
            self._encoders[key] = encoder
        return encoder

    def decoder(self) -> RecordDecoder:
        """The decoder of wire-format records (one per registry, thread-safe)."""
        with self._lock:
            if self._decoder is None:
                self._decoder = RecordDecoder(self.client)
            return self._decoder

    def close(self) -> None:
        """Close the HTTP session."""
        self.client.close()
