"""`kafkactl --help` lists every command and does not import kafka-python (fast start-up)."""

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
