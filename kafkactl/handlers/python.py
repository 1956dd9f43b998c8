"""`--handler package.module:function` (DESIGN §6.6): a Python callable, sync or async."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import json
import os
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from kafkactl.errors import FatalError, UsageError
from kafkactl.handlers.base import HandlerBase, class_name, tail
from kafkactl.headers import (
    MAX_MESSAGE_BYTES,
    MAX_TRACE_BYTES,
    Failure,
    FailureKind,
    truncate,
)
from kafkactl.message import HandlerFailure, Message


def describe_failure(exc: BaseException, kind: FailureKind) -> Failure:
    """A Failure for an exception raised by a user handler (traceback without our own frame)."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code.co_filename == __file__ and tb.tb_next is not None:
        tb = tb.tb_next
    trace = "".join(traceback.format_exception(type(exc), exc, tb))
    name = class_name(type(exc))
    text = str(exc) or name
    return Failure(
        kind, name, truncate(text, MAX_MESSAGE_BYTES), tail(trace.rstrip(), MAX_TRACE_BYTES)
    )


def load_function(spec: str, flag: str = "--handler") -> Callable[..., Any]:
    """Import `package.module:function` (the attribute may be dotted); UsageError naming `flag`
    if it can't."""
    if any("\udc80" <= ch <= "\udcff" for ch in spec):
        shown = spec.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
        raise UsageError(f"{flag} {shown!r} is not valid UTF-8; name a package.module:function")
    where = f"{flag} {spec}"
    module_name, sep, attr_path = spec.strip().partition(":")
    parts = attr_path.split(".")
    if (
        not sep
        or not module_name
        or not all(p.isidentifier() for p in module_name.split("."))
        or not all(p.isidentifier() for p in parts)
    ):
        raise UsageError(
            f"{where}: expected package.module:function, e.g. {flag} app.handlers:process"
        )
    try:
        cwd = os.getcwd()
    except FileNotFoundError:
        raise UsageError(
            f"{where}: the working directory no longer exists (it was deleted); "
            "cd to a directory that exists and run again"
        ) from None
    if cwd not in sys.path:
        # Appended, not prepended: a file in the directory must not shadow an installed package
        # (a local kafka.py would otherwise break kafkactl itself).
        sys.path.append(cwd)
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        ours = module_name == missing or module_name.startswith(missing + ".")
        hint = "is it on PYTHONPATH?" if ours else "is that dependency installed?"
        raise UsageError(f"{where}: cannot import module '{module_name}' ({exc}); {hint}") from None
    except KeyboardInterrupt:
        raise  # Ctrl-C while importing: an interrupted run, not a broken module
    except BaseException as exc:
        # Anything the module raises at import, sys.exit() included, is the module's fault.
        what = f"exit({exc.code!r})" if isinstance(exc, SystemExit) else class_name(type(exc))
        detail = f"{what}: {exc}" if str(exc) and not isinstance(exc, SystemExit) else what
        raise UsageError(
            f"{where}: importing module '{module_name}' failed ({truncate(detail, 300)}); "
            "fix the module"
        ) from None
    target: Any = module
    for i, part in enumerate(parts):
        try:
            target = getattr(target, part)
        except AttributeError:
            owner = module_name if i == 0 else f"{module_name}:{'.'.join(parts[:i])}"
            raise UsageError(
                f"{where}: '{owner}' has no attribute '{part}'; check the function name"
            ) from None
    if not callable(target):
        raise UsageError(
            f"{where}: '{attr_path}' in module '{module_name}' is a "
            f"{type(target).__name__}, not a function; name a callable taking a Message"
        )
    handler: Callable[..., Any] = target
    return handler


class PythonHandler(HandlerBase):
    """Calls a Python function (sync, or async on a per-thread event loop) with each Message.

    Mapping: returning is success; kafkactl.FatalError is `fatal`; a JSON or UTF-8 decode error
    (from message.json() / message.text()) is `decode`; any other exception is `retryable`; a
    HandlerFailure raised by the function is passed through unchanged.
    """

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.function = load_function(spec)
        self._local = threading.local()
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._lock = threading.Lock()

    def _loop(self) -> asyncio.AbstractEventLoop:
        """This worker thread's event loop, created on first use."""
        loop = getattr(self._local, "loop", None)
        if loop is None or loop.is_closed():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._local.loop = loop
            with self._lock:
                self._loops.append(loop)
        return loop

    def handle(self, message: Message) -> None:
        """Call the function; raise HandlerFailure with the mapped kind if it raises."""
        try:
            result = self.function(message)
            if inspect.isawaitable(result):
                self._loop().run_until_complete(result)
        except HandlerFailure:
            raise
        except FatalError as exc:
            raise HandlerFailure(describe_failure(exc, "fatal")) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            # orjson.JSONDecodeError is a json.JSONDecodeError.
            raise HandlerFailure(describe_failure(exc, "decode")) from None
        except BaseException as exc:
            # Any exception is the handler's failure, BaseExceptions included (SystemExit,
            # KeyboardInterrupt, GeneratorExit, CancelledError, a custom one): handlers run on
            # worker threads, where no signal arrives, so none of them can mean "stop kafkactl".
            raise HandlerFailure(describe_failure(exc, "retryable")) from None

    def close(self) -> None:
        """Close the event loops of the worker threads."""
        with self._lock:
            loops, self._loops = self._loops, []
        for loop in loops:
            if not loop.is_running():
                with contextlib.suppress(Exception):
                    loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()
