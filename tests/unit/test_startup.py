"""`kafkactl --help` lists every command and imports neither a Kafka library nor anything
else it has no use for (fast start-up)."""

import ast
import subprocess
import sys

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
