"""consume with a registry: wire-format keys and values are decoded before the handler runs;
a record that cannot be decoded is a `decode` failure (to the DLQ, with the reason)."""

from __future__ import annotations

from kafkactl.errors import RecordDecodeError
from kafkactl.headers import MAX_MESSAGE_BYTES, Failure, truncate
from kafkactl.message import HandlerFailure, Message
from kafkactl.schemas.model import Decoder

DECODE_ERROR_CLASS = "kafkactl.SchemaDecodeError"


def decode_message(message: Message, decoder: Decoder) -> None:
    """Set `message.decoded_value` / `decoded_key` for the parts in the wire format; raise
    HandlerFailure (kind `decode`) when one cannot be decoded. The bytes stay as they are."""
    try:
        if decoder.framed(message.value):
            assert message.value is not None
            message.decoded_value = decoder.decode(message.value, message.topic, "value")
        if decoder.framed(message.key):
            assert message.key is not None
            message.decoded_key = decoder.decode(message.key, message.topic, "key")
    except RecordDecodeError as exc:
        raise HandlerFailure(
            Failure("decode", DECODE_ERROR_CLASS, truncate(exc.reason, MAX_MESSAGE_BYTES))
        ) from None
