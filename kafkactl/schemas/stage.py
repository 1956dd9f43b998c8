"""produce with schemas: each parsed line's documents become wire-format bytes, or the line is
invalid (FormatError, with the reason: the same path as bad JSON)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafkactl.errors import SchemaMismatch
from kafkactl.formats.base import FormatError, ParsedRecord
from kafkactl.formats.jsontext import field_value, loads
from kafkactl.schemas.model import Encoder, Field

# An encoder for the schema id an envelope carries (None: no registry configured).
EncoderById = Callable[[int, Field], Encoder]

NO_REGISTRY = (
    "needs a schema registry to be written in its wire format: set KAFKA_SCHEMA_REGISTRY_URL "
    "(or copy the topic's bytes as they are: consume --decode none)"
)


class SchemaStage:
    """Encodes the key and value of parsed records with their schemas.

    `value` / `key`: the encoders of --value-schema/--value-subject and the key flags (None:
    that part is left as given unless an envelope carries a schema id). `key_field`: the key
    is that field of the value's document; `fixed_key`: --key, whose document is computed once.
    """

    def __init__(
        self,
        value: Encoder | None = None,
        key: Encoder | None = None,
        by_id: EncoderById | None = None,
        key_field: str | None = None,
        fixed_key: bytes | None = None,
    ) -> None:
        self.value = value
        self.key = key
        self.by_id = by_id
        self.key_field = key_field
        self._fixed_key: bytes | None = None
        if key is not None and fixed_key is not None:
            self._fixed_key = _encode(key, key_document(fixed_key), "--key")

    def apply(self, record: ParsedRecord) -> None:
        """Encode `record`'s value and key in place; FormatError when one does not fit."""
        document: Any = None
        parsed = False
        value_encoder = self._encoder(self.value, record.value_schema_id, "value")
        if record.value is not None and value_encoder is not None:
            document = loads(record.value)
            parsed = True
            record.value = _encode(value_encoder, document, "the value")
        key_encoder = self._encoder(self.key, record.key_schema_id, "key")
        if key_encoder is None:
            return
        if self._fixed_key is not None:
            record.key = self._fixed_key
        elif self.key_field is not None and record.key_schema_id is None:
            if not parsed:
                raise FormatError(f"--key-field {self.key_field} needs a JSON value")
            try:
                key_doc = field_value(document, self.key_field)
            except KeyError as exc:  # the parser found it; kept for safety
                raise FormatError(f"key field {self.key_field!r} is missing ({exc})") from None
            record.key = _encode(key_encoder, key_doc, "the key")
        elif record.key is not None:
            try:
                key_doc = key_document(record.key)
            except SchemaMismatch as exc:
                raise FormatError(exc.reason) from None
            record.key = _encode(key_encoder, key_doc, "the key")

    def _encoder(self, flag: Encoder | None, schema_id: int | None, field: Field) -> Encoder | None:
        """The flag's encoder, else the one of the schema id the envelope carries."""
        if flag is not None or schema_id is None:
            return flag
        if self.by_id is None:
            raise FormatError(f"{field}_schema_id {schema_id} {NO_REGISTRY}")
        try:
            return self.by_id(schema_id, field)
        except SchemaMismatch as exc:
            raise FormatError(f"{field}_schema_id {schema_id}: {exc.reason}") from None


def key_document(text: bytes) -> Any:
    """The document of a key given as text (--key, an envelope's key) for a key schema: its
    JSON value when it is JSON (`42`, `{"id": 1}`, `"x"`), else the text as a string."""
    try:
        return loads(text)
    except FormatError:
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError:
            raise SchemaMismatch("the key is not UTF-8 text, so it cannot be a document") from None


def _encode(encoder: Encoder, document: Any, what: str) -> bytes:
    """The wire-format bytes of one document, or FormatError naming the subject and id."""
    try:
        return encoder.encode(document)
    except SchemaMismatch as exc:
        version = f" v{encoder.version}" if encoder.version is not None else ""
        raise FormatError(
            f"{what} does not fit schema {encoder.subject}{version} (id {encoder.schema_id}): "
            f"{exc.reason}"
        ) from None
