"""kafka-python's log read while a client connects (the kafka-python engine only)."""

from __future__ import annotations

import contextlib
import logging


class KafkaLogCapture(logging.Handler):
    """Collects kafka-python's warnings and errors while a client connects.

    kafka-python reports why a bootstrap failed (bad credentials, certificate errors) only in its
    logs. While capturing, the `kafka` logger lets WARNING through to this handler; the handlers
    it already had still see only what they saw before (nothing new reaches the user's log).
    Messages are kept with secrets redacted.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self._logger = logging.getLogger("kafka")
        self._saved_level = self._logger.level
        self._threshold = self._logger.getEffectiveLevel()

    def emit(self, record: logging.LogRecord) -> None:
        from kafkactl.log import redact

        with contextlib.suppress(Exception):
            self.messages.append(redact(record.getMessage()))

    def _old_handlers_filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self._threshold

    def __enter__(self) -> KafkaLogCapture:
        for handler in self._logger.handlers:
            handler.addFilter(self._old_handlers_filter)
        self._logger.addHandler(self)
        if self._threshold > logging.WARNING:
            self._logger.setLevel(logging.WARNING)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._saved_level)
        for handler in self._logger.handlers:
            handler.removeFilter(self._old_handlers_filter)

    def auth_failure(self) -> str | None:
        """The broker's reason, when kafka-python saw the SASL authentication fail."""
        for message in self.messages:
            for marker in ("SaslAuthenticationFailedError: ", "UnsupportedSaslMechanismError"):
                if marker in message:
                    return message.split(marker, 1)[1].split(" (backoff", 1)[0] or marker
        return None

    def certificate_failure(self) -> str | None:
        """The certificate error kafka-python logged, if any."""
        for message in self.messages:
            if "CERTIFICATE_VERIFY_FAILED" in message:
                return message.split("CERTIFICATE_VERIFY_FAILED]", 1)[-1].strip(" :")
        return None

    def last_failure(self) -> str | None:
        """The last "Bootstrap connection to X failed: <reason>" kafka-python logged."""
        for message in reversed(self.messages):
            if "Bootstrap connection to" in message and " failed: " in message:
                return message.split(" failed: ", 1)[1].split(" (backoff", 1)[0]
        return None
