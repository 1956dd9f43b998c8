"""Repairing a dead letter's value on its way back (`--transform`, `--transform-handler`).

A transform gets the dead letter as a `Message` (topic, partition and offset are the DLQ's) and
returns the new value, or raises `Unrepairable`: that record cannot be repaired, is counted
`unrepaired` and stays in the DLQ for a later run.

- `CommandTransform` runs a shell command through consume's `--exec` machinery
  (`ExecHandler.output`: the value on stdin, the same `KAFKA_*` environment, its own process
  group killed on a timeout, the stderr tail kept). The new value is its stdout, without one
  trailing newline (`jq -c`, `echo` add one). Non-zero exit, a timeout, or no output at all is
  unrepairable.
- `FunctionTransform` calls `module:function` (loaded as `--handler` is): it returns bytes, str
  (UTF-8) or a dict / list (JSON); None, another type, or any exception (BaseException
  included) is unrepairable.
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from kafkactl.errors import UsageError
from kafkactl.handlers.exec import ExecHandler
from kafkactl.handlers.python import describe_failure, load_function
from kafkactl.headers import MAX_MESSAGE_BYTES, Failure, truncate
from kafkactl.message import HandlerFailure, Message

DEFAULT_TIMEOUT_S = 30.0


class Unrepairable(Exception):
    """The transform could not repair this record: `reason` is one line, `trace` the detail."""

    def __init__(self, reason: str, trace: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.trace = trace

    @classmethod
    def of(cls, failure: Failure) -> Unrepairable:
        """From a handler Failure: `class: message` and its trace."""
        return cls(f"{failure.error_class}: {failure.message}", failure.trace)


class Transform(Protocol):
    """Repairs one dead letter's value."""

    description: str

    def apply(self, message: Message) -> bytes:
        """The new value; raises Unrepairable when this record cannot be repaired."""
        ...

    def close(self) -> None:
        """Release what the transform holds (running commands, event loops)."""
        ...


class CommandTransform:
    """`--transform CMD`: a shell command per record, value in, new value out."""

    def __init__(self, command: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        if not command or not command.strip():
            raise UsageError("--transform needs a command, e.g. --transform 'jq -c .'")
        if timeout_s <= 0:
            raise UsageError(f"--transform-timeout must be positive, got {timeout_s:g}s")
        # No fatal codes: any failure means the same here. Output only through the capture.
        self._exec = ExecHandler(command, timeout_s, frozenset(), output_fd=None)
        self.command = command
        self.description = f"command {command}"

    def apply(self, message: Message) -> bytes:
        """Run the command on the value; its stdout, less one trailing newline."""
        try:
            out = self._exec.output(message)
        except HandlerFailure as exc:
            raise Unrepairable.of(exc.failure) from None
        if not out:
            raise Unrepairable("no output: the transform printed nothing on stdout")
        if out.endswith(b"\n"):
            out = out[:-2] if out.endswith(b"\r\n") else out[:-1]
        return out

    def close(self) -> None:
        """Kill a command still running (a forced stop)."""
        self._exec.close()


class FunctionTransform:
    """`--transform-handler module:function`: a Python callable (sync or async) per record."""

    def __init__(self, spec: str) -> None:
        self.function = load_function(spec, "--transform-handler")
        self.description = f"function {spec}"
        self._loop: asyncio.AbstractEventLoop | None = None

    def apply(self, message: Message) -> bytes:
        """Call the function; its result as bytes (dict and list as JSON)."""
        try:
            result = self.function(message)
            if inspect.isawaitable(result):
                if self._loop is None:
                    self._loop = asyncio.new_event_loop()
                result = self._loop.run_until_complete(result)
            return value_bytes(result)
        except Unrepairable:
            raise
        except BaseException as exc:
            # Whatever the function raises, SystemExit and KeyboardInterrupt included, is about
            # this record: signals reach the replay through its own handlers, never as these.
            raise Unrepairable.of(describe_failure(exc, "retryable")) from None

    def close(self) -> None:
        """Close the event loop of async functions."""
        if self._loop is not None:
            self._loop.close()
            self._loop = None


def value_bytes(result: Any) -> bytes:
    """A function's result as a record value; Unrepairable for None or another type."""
    if isinstance(result, bytes):
        return result
    if isinstance(result, bytearray | memoryview):
        return bytes(result)
    if isinstance(result, str):
        return result.encode("utf-8", "surrogateescape")
    if isinstance(result, dict | list):
        try:
            return orjson.dumps(result)
        except TypeError as exc:
            what = type(result).__name__
            raise Unrepairable(f"returned a {what} that is not JSON: {exc}") from None
    what = "None" if result is None else f"a {type(result).__name__}"
    raise Unrepairable(f"returned {what}; return bytes, str or dict")


def build_transform(
    command: str | None, spec: str | None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Transform | None:
    """The transform the flags ask for, if any (UsageError when both are given)."""
    if command is not None and spec is not None:
        raise UsageError("--transform and --transform-handler cannot be combined; choose one")
    if command is not None:
        return CommandTransform(command, timeout_s)
    if spec is not None:
        return FunctionTransform(spec)
    return None


# --- before -> after (dry run) ---------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """One dead letter's value before and after the transform (dry run `--show N`)."""

    partition: int
    offset: int
    key: str | None
    changes: list[str]  # shortened: `field: old -> new` for JSON objects, else `old -> new`
    reason: str | None = None  # unrepaired: why

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key,
            "changes": list(self.changes),
            "unrepaired": self.reason,
        }


def value_diff(before: bytes | None, after: bytes, width: int = 60, most: int = 8) -> list[str]:
    """What changed, shortened: per field when both values are JSON objects, else the text
    around the first difference (common prefix and suffix folded into `…`)."""
    old, new = _json_object(before), _json_object(after)
    if old is not None and new is not None:
        lines: list[str] = []
        _diff_objects(old, new, "", lines)
        if not lines:
            return ["(unchanged)"]
        if len(lines) > most:
            lines = [*lines[:most], f"… and {len(lines) - most} more"]
        return [_cut(line, 2 * width) for line in lines]
    a = (before or b"").decode("utf-8", "replace")
    b = after.decode("utf-8", "replace")
    if a == b:
        return ["(unchanged)"]
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    keep = 10
    start = max(0, prefix - keep)
    cut = max(0, suffix - keep)
    a_mid, b_mid = a[start : len(a) - cut], b[start : len(b) - cut]
    lead = "…" if start else ""
    trail = "…" if suffix > keep else ""
    return [f"{_cut(lead + a_mid + trail, width)} → {_cut(lead + b_mid + trail, width)}"]


def _json_object(value: bytes | None) -> dict[str, Any] | None:
    try:
        parsed = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _diff_objects(old: dict[str, Any], new: dict[str, Any], path: str, out: list[str]) -> None:
    for name in [*old, *(k for k in new if k not in old)]:
        where = f"{path}.{name}"
        if name not in new:
            out.append(f"{where}: {_show(old[name])} → (removed)")
        elif name not in old:
            out.append(f"{where}: (added) → {_show(new[name])}")
        elif isinstance(old[name], dict) and isinstance(new[name], dict):
            _diff_objects(old[name], new[name], where, out)
        elif old[name] != new[name] or type(old[name]) is not type(new[name]):
            out.append(f"{where}: {_show(old[name])} → {_show(new[name])}")


def _show(value: Any) -> str:
    return _cut(orjson.dumps(value).decode(), 40)


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def reason_line(text: str) -> str:
    """An unrepaired reason as one short line (for the summary's counts)."""
    return truncate(" ".join(text.split()), min(300, MAX_MESSAGE_BYTES))
