"""The schema-registry adapter (DESIGN §14.1): confluent-kafka's `schema_registry` client and its
Avro, JSON Schema and Protobuf serializers behind kafkactl.schemas' ports.

`registry` is the client (errors mapped to kafkactl's: RegistryError exit 1, RegistryUnreachable
exit 3), `codecs` the encoders, `decoder` the decoder, `port` the SchemaRegistry port over
them, `protobuf` message classes built at run time.
It needs the `schemas` extra (confluent-kafka with fastavro, jsonschema, protobuf, and
grpcio-tools for .proto files), whatever the Kafka engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kafkactl.errors import UsageError

if TYPE_CHECKING:
    from kafkactl.config import Settings
    from kafkactl.kafka.schemas.port import Registry

INSTALL_HINT = "pip install 'kafkactl[schemas]'"


def schemas_installed() -> str | None:
    """Why the schemas extra cannot be used (a missing package), or None when it can."""
    try:
        import confluent_kafka.schema_registry  # noqa: F401
        import fastavro  # noqa: F401
        import jsonschema  # noqa: F401
        from google.protobuf import json_format  # noqa: F401
    except ImportError as exc:
        return f"{exc.name or exc} is not installed"
    return None


def connect_registry(settings: Settings, flag: str = "KAFKA_SCHEMA_REGISTRY_URL") -> Registry:
    """A client of the registry at KAFKA_SCHEMA_REGISTRY_URL; UsageError (exit 2) when none is
    set or the schemas extra is missing. Nothing is sent until it is used."""
    if settings.schema_registry_url is None:
        raise UsageError(
            f"{flag} needs a schema registry: set KAFKA_SCHEMA_REGISTRY_URL "
            "(locally: scripts/schema-registry-local start)"
        )
    missing = schemas_installed()
    if missing is not None:
        raise UsageError(f"schemas need the schemas extra ({missing}): {INSTALL_HINT}")
    from kafkactl.kafka.schemas.port import Registry
    from kafkactl.kafka.schemas.registry import RegistryClient

    client = RegistryClient(
        settings.schema_registry_url,
        username=settings.schema_registry_username,
        password=settings.schema_registry_password,
        cafile=settings.schema_registry_cafile,
    )
    return Registry(client)


__all__ = ["INSTALL_HINT", "connect_registry", "schemas_installed"]
