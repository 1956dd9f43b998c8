"""The schema flags of produce (--value-schema, --value-subject, ...) and consume (--decode):
flags -> a SchemaStage or a decoder, with one clear line for each bad input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from kafkactl.errors import SchemaMismatch, UsageError

if TYPE_CHECKING:
    from kafkactl.config import Settings
    from kafkactl.schemas.model import (
        DecodeMode,
        Decoder,
        Encoder,
        Field,
        SchemaKind,
        SchemaRegistry,
    )
    from kafkactl.schemas.stage import SchemaStage


ValueSchemaOpt = Annotated[
    str | None,
    typer.Option(
        "--value-schema",
        help="Write values in the schema registry's format with this schema: .avsc (Avro), "
        ".json (JSON Schema) or .proto (Protobuf); registered under --value-subject "
        "(default TOPIC-value). Each line must fit it.",
    ),
]

ValueSubjectOpt = Annotated[
    str | None,
    typer.Option(
        "--value-subject",
        help="Registry subject of the values (alone: use its latest registered schema).",
    ),
]

ValueMessageOpt = Annotated[
    str | None,
    typer.Option(
        "--value-message", help="Protobuf: the message of the values (default: the file's first)."
    ),
]

KeySchemaOpt = Annotated[
    str | None,
    typer.Option("--key-schema", help="Like --value-schema, for keys (subject TOPIC-key)."),
]

KeySubjectOpt = Annotated[
    str | None, typer.Option("--key-subject", help="Registry subject of the keys.")
]

KeyMessageOpt = Annotated[
    str | None, typer.Option("--key-message", help="Protobuf: the message of the keys.")
]

NoRegisterOpt = Annotated[
    bool,
    typer.Option(
        "--no-register",
        help="Do not register --value-schema/--key-schema: it must be registered already.",
    ),
]

DecodeOpt = Annotated[
    str,
    typer.Option(
        "--decode",
        help="Records in a schema registry's wire format (KAFKA_SCHEMA_REGISTRY_URL): auto "
        "decodes them for the printer and message.decoded(); json also gives --exec the "
        "decoded JSON on stdin; none keeps the bytes. One that cannot be decoded is a "
        "decode failure (the DLQ, with a group).",
    ),
]


@dataclass(frozen=True)
class SchemaFlags:
    """produce's schema flags for keys or values."""

    field: Field
    schema: str | None = None  # --value-schema FILE
    subject: str | None = None  # --value-subject S
    message: str | None = None  # --value-message NAME

    @property
    def wanted(self) -> bool:
        """Whether this part is written with a schema."""
        return self.schema is not None or self.subject is not None

    def flag(self, what: str) -> str:
        """`--value-schema` and the like."""
        return f"--{self.field}-{what}"


def check_produce_flags(flags: list[SchemaFlags], fmt: str, has_key: bool = True) -> None:
    """Flag combinations that cannot work (exit 2) before anything connects; `has_key`: the
    command line gives records a key (--key-field, --key, or an envelope's own key)."""
    for part in flags:
        if part.wanted and part.field == "key" and not has_key:
            raise UsageError(
                f"{part.flag('schema' if part.schema else 'subject')} encodes keys, but the "
                "records have none: add --key-field FIELD or --key TEXT"
            )
        if part.message is not None and not (
            part.subject is not None or (part.schema or "").lower().endswith(".proto")
        ):
            raise UsageError(
                f"{part.flag('message')} names a Protobuf message: use it with "
                f"{part.flag('schema')} FILE.proto (or {part.flag('subject')})"
            )
        if part.wanted and fmt == "raw":
            raise UsageError(
                f"{part.flag('schema' if part.schema else 'subject')} writes JSON documents "
                "in the registry's format; use --format json or envelope, not raw"
            )
        if part.subject is not None and not part.subject.strip():
            raise UsageError(f"{part.flag('subject')} must not be empty")


def check_schema_settings(settings: Settings, flags: list[SchemaFlags]) -> None:
    """Before anything connects: a registry is configured and each schema file is readable
    and has a schema extension (exit 2 otherwise)."""
    wanted = [part for part in flags if part.wanted]
    if not wanted:
        return
    from kafkactl.kafka.schemas import connect_registry

    first = wanted[0]
    connect_registry(settings, first.flag("schema" if first.schema else "subject")).close()
    for part in wanted:
        if part.schema is not None:
            _read_schema(part)


def _read_schema(part: SchemaFlags) -> tuple[SchemaKind, str]:
    """The kind (from the extension) and text of a schema file; UsageError when unreadable."""
    from kafkactl.config.files import read_small_file
    from kafkactl.schemas.model import kind_for_file

    assert part.schema is not None
    try:
        kind = kind_for_file(part.schema)
    except ValueError as exc:
        raise UsageError(f"{part.flag('schema')}: {exc}") from None
    try:
        return kind, read_small_file(part.schema, "schema files").decode("utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot read {part.flag('schema')} {part.schema!r}: {exc.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise UsageError(f"{part.flag('schema')} {part.schema!r} is not UTF-8 text") from None
    except ValueError as exc:
        raise UsageError(f"{part.flag('schema')} {part.schema!r} {exc}") from None


def build_stage(
    settings: Settings,
    topic: str,
    fmt: str,
    flags: list[SchemaFlags],
    register: bool,
    key_field: str | None,
    fixed_key: str | None,
    announce: bool,
) -> tuple[SchemaStage | None, SchemaRegistry | None]:
    """The produce stage (None: no schema flag and no envelope to check) and the registry it
    holds (closed by the caller)."""
    from kafkactl.schemas.stage import SchemaStage

    wanted = [part for part in flags if part.wanted]
    if not wanted and fmt != "envelope":
        return None, None
    if not wanted and settings.schema_registry_url is None:
        # Envelopes that carry schema ids are invalid lines without a registry.
        return SchemaStage(), None
    from kafkactl.kafka.schemas import connect_registry

    registry = connect_registry(
        settings, wanted[0].flag("schema" if wanted[0].schema else "subject") if wanted else ""
    )
    try:
        encoders: dict[str, Encoder] = {}
        for part in wanted:
            encoder = _encoder(registry, topic, part, register)
            encoders[part.field] = encoder
            if announce:
                from kafkactl import render

                version = f" version {encoder.version}" if encoder.version is not None else ""
                render.info(
                    f"{part.field}s: {_label(encoder.kind)} schema id {encoder.schema_id}, "
                    f"subject {encoder.subject}{version}"
                )
        key = encoders.get("key")
        try:
            stage = SchemaStage(
                value=encoders.get("value"),
                key=key,
                by_id=lambda schema_id, field: registry.encoder_for_id(schema_id, topic, field),
                key_field=key_field,
                fixed_key=fixed_key.encode("utf-8") if fixed_key is not None else None,
            )
        except Exception as exc:
            from kafkactl.formats.base import FormatError

            if isinstance(exc, FormatError | SchemaMismatch):
                raise UsageError(f"--key {fixed_key!r}: {_reason(exc)}") from None
            raise
    except BaseException:
        registry.close()
        raise
    return stage, registry


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "reason", exc))


def _label(kind: str) -> str:
    from kafkactl.schemas.model import KIND_LABELS

    return KIND_LABELS.get(kind, kind)  # type: ignore[call-overload, no-any-return]


def _encoder(registry: SchemaRegistry, topic: str, part: SchemaFlags, register: bool) -> Encoder:
    """Register (or find) one part's schema; a schema file that does not parse is exit 2."""
    from kafkactl.schemas.model import SchemaRequest, subject_for

    subject = part.subject.strip() if part.subject else subject_for(topic, part.field)
    text: str | None = None
    kind: SchemaKind | None = None
    if part.schema is not None:
        kind, text = _read_schema(part)
    request = SchemaRequest(
        field=part.field,
        subject=subject,
        text=text,
        kind=kind,
        message=part.message,
        register=register,
        path=part.schema,
    )
    try:
        return registry.encoder(request, topic)
    except SchemaMismatch as exc:
        what = f"{part.flag('schema')} {part.schema}" if part.schema else f"subject {subject}"
        raise UsageError(f"{what}: {exc.reason}") from None


def decoder_for(
    settings: Settings, mode: DecodeMode
) -> tuple[Decoder | None, SchemaRegistry | None]:
    """consume's decoder: none without a registry (auto) or with --decode none; --decode json
    without a registry is exit 2."""
    if mode == "none" or (mode == "auto" and settings.schema_registry_url is None):
        return None, None
    from kafkactl.kafka.schemas import connect_registry

    registry = connect_registry(settings, "--decode json")
    return registry.decoder(), registry


def decode_mode(value: str) -> DecodeMode:
    """--decode auto|json|none."""
    from kafkactl.schemas.model import DECODE_MODES

    for mode in DECODE_MODES:
        if value == mode:
            return mode
    raise UsageError(f"--decode must be one of {', '.join(DECODE_MODES)}, got {value!r}")
