"""The python handler: loading a package.module:function, sync and async, exception mapping."""

from __future__ import annotations

import sys
import textwrap
import threading
from pathlib import Path

import pytest

from kafkactl.errors import UsageError
from kafkactl.handlers import (
    PythonHandler,
)
from kafkactl.headers import Failure
from kafkactl.message import Message
from tests.fixtures import handlers_sample
from tests.unit.handler_helpers import SAMPLE, failure_of, make_message

# --- python ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _reset_sample() -> None:
    handlers_sample.CALLS.clear()
    handlers_sample.LOOPS.clear()


def test_python_sync_success() -> None:
    PythonHandler(f"{SAMPLE}:ok").handle(make_message(offset=7))
    assert handlers_sample.CALLS == [("orders", 7)]


def test_python_dotted_attribute() -> None:
    PythonHandler(f"{SAMPLE}:Handlers.nested").handle(make_message(offset=8))
    assert handlers_sample.CALLS == [("nested", 8)]


def test_python_async_reuses_one_loop_per_thread() -> None:
    handler = PythonHandler(f"{SAMPLE}:async_ok")
    handler.handle(make_message(offset=1))
    handler.handle(make_message(offset=2))
    other = threading.Thread(target=handler.handle, args=(make_message(offset=3),))
    other.start()
    other.join()
    assert handlers_sample.CALLS == [("orders", 1), ("orders", 2), ("orders", 3)]
    (t1, loop1), (t2, loop2), (t3, loop3) = handlers_sample.LOOPS
    assert t1 == t2 and loop1 == loop2  # same thread: the same loop
    assert t3 != t1 and loop3 != loop1  # another worker thread: its own loop
    loops = list(handler._loops)
    assert len(loops) == 2
    handler.close()
    assert all(loop.is_closed() for loop in loops)


def test_python_async_failure_is_retryable() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:async_fail"))
    assert (failure.kind, failure.error_class, failure.message) == (
        "retryable",
        "RuntimeError",
        "async boom",
    )


def test_python_fatal_error() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:fatal"), make_message(offset=9))
    assert failure.kind == "fatal"
    assert failure.error_class == "kafkactl.errors.FatalError"
    assert failure.message == "bad record at offset 9"
    assert failure.trace is not None
    assert "handlers_sample.py" in failure.trace and "FatalError" in failure.trace
    assert "kafkactl/handlers/python.py" not in failure.trace  # our own frame is left out


def test_python_value_error_is_retryable() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:value_error"))
    assert (failure.kind, failure.error_class, failure.message) == (
        "retryable",
        "ValueError",
        "not now",
    )
    assert failure.trace and failure.trace.rstrip().endswith("ValueError: not now")


def test_python_non_builtin_exception_is_qualified() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:custom_error"))
    assert failure.error_class == "tests.fixtures.handlers_sample.SampleError"
    assert failure.kind == "retryable"


def test_python_bad_json_is_decode() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:bad_json"), make_message(value=b"{not json"))
    assert failure.kind == "decode"
    assert failure.error_class == "orjson.JSONDecodeError"


def test_python_bad_utf8_is_decode() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:bad_text"), make_message(value=b"\xff\xfe"))
    assert failure.kind == "decode"
    assert failure.error_class == "UnicodeDecodeError"


def test_python_system_exit_does_not_escape() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:exits"))
    assert (failure.kind, failure.error_class) == ("retryable", "SystemExit")


def test_python_long_message_and_trace_are_cut(tmp_path: Path, monkeypatch) -> None:
    write_module(
        tmp_path,
        "kafkactl_t_long",
        """
        def deep(n):
            if n == 0:
                raise RuntimeError("x" * 5000)
            deep(n - 1)

        def handle(message):
            deep(60)
        """,
        monkeypatch,
    )
    failure = failure_of(PythonHandler("kafkactl_t_long:handle"))
    assert len(failure.message.encode()) <= 1024
    assert failure.trace is not None and len(failure.trace.encode()) <= 4096
    assert failure.trace.startswith("...")  # the tail is kept: the end names the error


def test_python_handler_failure_passes_through(tmp_path: Path, monkeypatch) -> None:
    write_module(
        tmp_path,
        "kafkactl_t_passthrough",
        """
        from kafkactl.headers import Failure
        from kafkactl.message import HandlerFailure

        def handle(message):
            raise HandlerFailure(Failure("timeout", "my.Timeout", "slow upstream"))
        """,
        monkeypatch,
    )
    failure = failure_of(PythonHandler("kafkactl_t_passthrough:handle"))
    assert failure == Failure("timeout", "my.Timeout", "slow upstream")


@pytest.mark.parametrize(
    "spec", ["nocolon", "a.b:", ":func", "a b:c", "a:b c", "a..b:c", "a:b..c", ""]
)
def test_python_bad_spec(spec: str) -> None:
    with pytest.raises(UsageError) as info:
        PythonHandler(spec)
    assert str(info.value) == (
        f"--handler {spec}: expected package.module:function, e.g. --handler app.handlers:process"
    )


def test_python_missing_module() -> None:
    with pytest.raises(UsageError) as info:
        PythonHandler("tests.fixtures.nope:fn")
    assert str(info.value) == (
        "--handler tests.fixtures.nope:fn: cannot import module 'tests.fixtures.nope' "
        "(No module named 'tests.fixtures.nope'); is it on PYTHONPATH?"
    )


def test_python_missing_top_level_package() -> None:
    with pytest.raises(UsageError) as info:
        PythonHandler("app_kafkactl_missing.handlers:process")
    assert str(info.value) == (
        "--handler app_kafkactl_missing.handlers:process: cannot import module "
        "'app_kafkactl_missing.handlers' (No module named 'app_kafkactl_missing'); "
        "is it on PYTHONPATH?"
    )


def test_python_module_with_missing_dependency(tmp_path: Path, monkeypatch) -> None:
    write_module(tmp_path, "kafkactl_t_dep", "import kafkactl_missing_dependency\n", monkeypatch)
    with pytest.raises(UsageError, match="is that dependency installed"):
        PythonHandler("kafkactl_t_dep:fn")


def test_python_module_that_fails_to_import(tmp_path: Path, monkeypatch) -> None:
    write_module(tmp_path, "kafkactl_t_broken", "raise RuntimeError('no config')\n", monkeypatch)
    with pytest.raises(UsageError) as info:
        PythonHandler("kafkactl_t_broken:fn")
    assert str(info.value) == (
        "--handler kafkactl_t_broken:fn: importing module 'kafkactl_t_broken' failed "
        "(RuntimeError: no config); fix the module"
    )


def test_python_missing_attribute() -> None:
    with pytest.raises(UsageError) as info:
        PythonHandler(f"{SAMPLE}:missing")
    assert str(info.value) == (
        f"--handler {SAMPLE}:missing: '{SAMPLE}' has no attribute 'missing'; "
        "check the function name"
    )


def test_python_not_callable() -> None:
    with pytest.raises(UsageError) as info:
        PythonHandler(f"{SAMPLE}:NOT_CALLABLE")
    assert str(info.value) == (
        f"--handler {SAMPLE}:NOT_CALLABLE: 'NOT_CALLABLE' in module '{SAMPLE}' is a int, "
        "not a function; name a callable taking a Message"
    )


def test_python_imports_from_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "kafkactl_t_cwd.py").write_text("SEEN = []\ndef handle(m):\n    SEEN.append(m)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "kafkactl_t_cwd", raising=False)
    handler = PythonHandler("kafkactl_t_cwd:handle")
    handler.handle(make_message())
    assert str(tmp_path) in sys.path
    assert len(sys.modules["kafkactl_t_cwd"].SEEN) == 1


def write_module(tmp_path: Path, name: str, source: str, monkeypatch) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


class _CustomBase(BaseException):
    """A BaseException of a user's own."""


@pytest.mark.parametrize(
    "raised", [KeyboardInterrupt, SystemExit, GeneratorExit, _CustomBase], ids=lambda c: c.__name__
)
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_python_any_base_exception_is_a_retryable_failure(
    raised: type[BaseException], is_async: bool
) -> None:
    def sync(message: Message) -> None:
        raise raised("from the handler")

    async def coro(message: Message) -> None:
        raise raised("from the handler")

    handler = PythonHandler(f"{SAMPLE}:exits")
    handler.function = coro if is_async else sync
    failure = failure_of(handler)
    name = raised.__qualname__ if raised is not _CustomBase else f"{__name__}._CustomBase"
    assert (failure.kind, failure.error_class) == ("retryable", name)
    if is_async:
        handler.function = sync if raised is GeneratorExit else coro
        assert failure_of(handler).kind == "retryable"  # the thread's loop still works
    handler.close()


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("import sys\nsys.exit(7)\n", "exit(7)"),
        ("raise SystemExit('bye')\n", "exit('bye')"),
        ("raise GeneratorExit('odd')\n", "GeneratorExit: odd"),
        ("class Boom(BaseException):\n    pass\nraise Boom('x')\n", ".Boom: x"),
    ],
    ids=["sys-exit-7", "system-exit-text", "generator-exit", "custom-base"],
)
def test_python_module_that_exits_or_raises_anything_at_import(
    tmp_path: Path, monkeypatch, body: str, said: str
) -> None:
    name = f"kafkactl_t_import_{abs(hash(body)) % 10_000}"
    write_module(tmp_path, name, body, monkeypatch)
    with pytest.raises(UsageError) as info:
        PythonHandler(f"{name}:fn")
    text = str(info.value)
    assert f"importing module '{name}' failed" in text and said in text
    assert "\n" not in text


def test_python_handler_spec_that_is_not_utf8() -> None:
    with pytest.raises(UsageError, match="not valid UTF-8"):
        PythonHandler("m\udcff:f")


def test_a_deleted_working_directory_is_one_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kafkactl.handlers.python import load_function

    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    with pytest.raises(UsageError, match=r"^--transform-handler m:f: the working directory no"):
        load_function("m:f", "--transform-handler")
