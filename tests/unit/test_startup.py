"""`kafkactl --help` lists every command and imports neither a Kafka library nor anything
else it has no use for, not even the commands' own modules (fast start-up)."""

import ast
import copy
import inspect
import subprocess
import sys

import pytest
from typer import _click as click

from kafkactl.cli.app import COMMANDS, build_command, cli_command
from kafkactl.cli.lazy import LazyCommands

PROBE = """
import sys
sys.argv = ["kafkactl", "--help"]
from kafkactl.cli.app import main
try:
    main()
except SystemExit:
    pass
loaded = any(m.split(".")[0] in ("kafka", "confluent_kafka") for m in sys.modules)
print("KAFKA_IMPORTED" if loaded else "CLEAN")
"""


def test_help_lists_commands_without_importing_kafka_python():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("CLEAN")
    for command in ("produce", "consume", "replay-dlq", "create-topics", "health", "config"):
        assert command in result.stdout


def test_importing_the_app_and_its_helpers_does_not_import_a_kafka_library():
    probe = (
        "import sys\n"
        "import kafkactl.cli.app, kafkactl.cli.argv, kafkactl.cli.context\n"
        "import kafkactl.cli.global_options, kafkactl.cli.streams, kafkactl.config\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'kafka', 'confluent_kafka'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# Modules `kafkactl --help` has no use for (start-up time): the Kafka libraries, logging,
# JSON, kafkactl's renderers and its message model. Typer's own help brings Rich.
NOT_FOR_HELP = {
    "kafka",
    "confluent_kafka",
    "loguru",
    "orjson",
    "kafkactl.render",
    "kafkactl.message",
    "kafkactl.log",
    "kafkactl.topology",
    "opentelemetry",
}


def _loaded_after(code: str, unwanted: set[str]) -> list[str]:
    """Which of `unwanted` are imported once `code` ran, in a fresh interpreter."""
    probe = (
        f"import sys\n{code}\nprint(sorted(m for m in {sorted(unwanted)!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return list(ast.literal_eval(result.stdout.strip().splitlines()[-1]))


def test_help_imports_nothing_it_does_not_need() -> None:
    code = (
        "sys.argv = ['kafkactl', '--help']\n"
        "from kafkactl.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(code, NOT_FOR_HELP) == []


def test_building_the_commands_imports_no_rich_table_either() -> None:
    code = "from kafkactl.cli.app import cli_command\ncli_command()"
    assert _loaded_after(code, NOT_FOR_HELP | {"rich.table"}) == []


def test_help_leaves_out_typers_markdown_and_traceback_rendering() -> None:
    code = (
        "sys.argv = ['kafkactl', 'consume', '--help']\n"
        "from kafkactl.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(code, {"rich.markdown", "rich.traceback", "pygments"}) == []


def test_a_command_that_runs_and_bash_completion_load_no_help_formatting() -> None:
    run = (
        "sys.argv = ['kafkactl', 'config', '--json']\n"
        "from kafkactl.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(run, {"typer.rich_utils"}) == []
    complete = (
        "import os\n"
        "os.environ.update(_KAFKACTL_COMPLETE='complete_bash', COMP_WORDS='kafkactl con', "
        "COMP_CWORD='1')\n"
        "sys.argv = ['kafkactl']\n"
        "from kafkactl.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(complete, {"typer.rich_utils", "rich"}) == []


# --- commands built when used (cli/lazy.py) --------------------------------------------------

COMMAND_MODULES = sorted(
    {f"kafkactl.cli.{module}" for modules, _ in COMMANDS.values() for module in modules}
)


def test_help_imports_no_command_module() -> None:
    code = (
        "sys.argv = ['kafkactl', '--help']\n"
        "from kafkactl.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(code, set(COMMAND_MODULES)) == []


def test_a_commands_help_imports_that_command_module_only() -> None:
    code = (
        "sys.argv = ['kafkactl', 'groups', 'describe', '--help']\n"
        "from kafkactl.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(code, set(COMMAND_MODULES)) == [
        "kafkactl.cli.groups",
        "kafkactl.cli.groups_admin",
    ]


def _help_of(command: click.Command, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        command.main(["--help"], prog_name="kafkactl")
    return capsys.readouterr().out


def test_top_level_help_builds_no_command_and_reads_as_if_all_were_built(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    lazy = cli_command()
    listed = _help_of(lazy, capsys)
    assert isinstance(lazy.commands, LazyCommands)
    assert lazy.commands.built() == []
    eager = copy.copy(lazy)
    eager.commands = {name: lazy.commands[name] for name in lazy.commands}
    assert _help_of(eager, capsys) == listed
    for name in COMMANDS:
        assert f"│ {name} " in listed


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_summary_line_is_the_first_paragraph_of_the_commands_help(name: str) -> None:
    command = build_command(name)
    text = inspect.cleandoc(command.short_help or command.help or "")
    assert COMMANDS[name][1] == text.split("\n\n")[0]


def test_running_a_command_builds_that_command_only() -> None:
    command = cli_command()
    ctx = command.make_context("kafkactl", ["health", "--help"], resilient_parsing=True)
    name, cmd, _ = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
    assert (name, cmd is not None) == ("health", True)
    assert isinstance(command.commands, LazyCommands)
    assert command.commands.built() == ["health"]
