"""Exceptions carrying their exit code (DESIGN §1.3): every layer fails with one clear line."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


class KafkactlError(Exception):
    """An expected failure: printed as one line, mapped to an exit code, never a traceback."""

    exit_code = EXIT_FAILED


class UsageError(KafkactlError):
    """Bad flags or arguments the user can fix."""

    exit_code = EXIT_USAGE


class OptionError(UsageError):
    """A value of one options field that cannot work; `problem` follows the field's name.

    The core names its own field (`str()`: "partitions 3 does not exist..."); `cli/` words it
    with the flag the user typed (`worded("--partition")`).
    """

    def __init__(self, option: str, problem: str) -> None:
        self.option = option
        self.problem = problem
        super().__init__(f"{option} {problem}")

    def worded(self, name: str) -> UsageError:
        """The same error, naming the option `name`."""
        return UsageError(f"{name} {self.problem}")


class ConfigError(UsageError):
    """A setting with a bad value: names the setting, where it came from, and what is allowed."""

    def __init__(self, setting: str, source: str, problem: str) -> None:
        self.setting = setting
        self.source = source
        self.problem = problem
        super().__init__(f"{setting} (from {source}): {problem}")


class ConnectError(KafkactlError):
    """The cluster could not be reached, or refused authentication, within the connect timeout."""

    exit_code = EXIT_UNREACHABLE


class DeliveryError(KafkactlError):
    """The broker did not take a record. `retriable` says whether sending it again can help
    (a timeout, a leader change) or never will (too large, topic authorization, a bad value)."""

    def __init__(self, reason: str, retriable: bool, code: str = "") -> None:
        self.reason = reason
        self.retriable = retriable
        self.code = code
        super().__init__(reason)


class FatalError(Exception):
    """Raised by a handler for a failure that retrying cannot fix: the message goes to the DLQ."""


class OutputClosed(Exception):
    """Stdout cannot be written (its reader closed it, a full disk, a file size limit, an I/O
    error): stop consuming; the message is not complete. `str()` names the cause in one line."""


class RegistryError(KafkactlError):
    """The schema registry refused a request (an incompatible or invalid schema, an unknown
    subject or schema id): exit 1, with the registry's own reason."""


class RegistryUnreachable(ConnectError):
    """The schema registry could not be reached, or refused our credentials (exit 3)."""


class SchemaMismatch(ValueError):
    """A document that does not fit its schema; `reason` says where and why, in one line."""

    def __init__(self, reason: str) -> None:
        reason = " ".join(reason.split())  # one line, whatever the library wrote
        super().__init__(reason)
        self.reason = reason


class RecordDecodeError(Exception):
    """A record in the schema registry's wire format that cannot be decoded (an unknown schema
    id, a body that does not match its schema, the registry unreachable after retries)."""

    def __init__(self, reason: str) -> None:
        reason = " ".join(reason.split())
        super().__init__(reason)
        self.reason = reason
