"""A handler that decodes wire-format records before the handler it wraps (consume with a
schema registry; kafkactl.schemas.decoding)."""

from __future__ import annotations

from kafkactl.handlers.base import Handler, HandlerBase
from kafkactl.message import Message
from kafkactl.schemas.decoding import decode_message
from kafkactl.schemas.model import Decoder


class DecodingHandler(HandlerBase):
    """Decodes each message (a `decode` failure when it cannot), then hands it on.

    It runs where the wrapped handler runs (`inline` for the printer) and passes flush() on.
    """

    def __init__(self, inner: Handler, decoder: Decoder) -> None:
        self.inner = inner
        self.decoder = decoder
        self.inline = inner.inline

    def handle(self, message: Message) -> None:
        """Decode, then run the wrapped handler."""
        decode_message(message, self.decoder)
        self.inner.handle(message)

    def flush(self) -> None:
        """The wrapped handler's flush (the printer's, before commits)."""
        self.inner.flush()

    def close(self) -> None:
        """Close the wrapped handler."""
        self.inner.close()
