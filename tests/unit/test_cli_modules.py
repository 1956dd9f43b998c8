"""The cli package's own helpers: commands do not import the app (no cycle), and the watched
stdout tells a failed stdout from any other OSError."""

from __future__ import annotations

import ast
import errno
import io
from pathlib import Path

import pytest

from kafkactl.cli.streams import WatchedStream, stdout_failed

CLI = Path(__file__).resolve().parents[2] / "kafkactl" / "cli"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_cli_module_but_the_entry_point_imports_the_app() -> None:
    importers = [
        path.name
        for path in CLI.glob("*.py")
        if path.name != "app.py" and "kafkactl.cli.app" in _imports(path)
    ]
    assert importers == []


class _Failing(io.StringIO):
    def write(self, data: str) -> int:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


@pytest.fixture(autouse=True)
def _no_failures_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WatchedStream, "failures", [])


def test_a_write_that_fails_is_remembered_as_a_failed_stdout() -> None:
    stream = WatchedStream(_Failing())
    with pytest.raises(BrokenPipeError) as excinfo:
        stream.write("x")
    assert stdout_failed(excinfo.value)
    assert stdout_failed(BrokenPipeError(errno.EPIPE, "later, on the same pipe"))


def test_another_oserror_is_not_a_failed_stdout() -> None:
    target = io.StringIO()
    stream = WatchedStream(target)
    stream.writelines(["a", "b"])
    stream.flush()
    assert target.getvalue() == "ab"
    assert stream.getvalue() == "ab"  # everything else is delegated
    assert not stdout_failed(OSError(errno.EPIPE, "a socket, not stdout"))
