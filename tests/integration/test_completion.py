"""Shell completion as the shell drives it: the scripts Typer prints, and topic and group names
from the real broker through Click's completion protocol (COMP_WORDS, COMP_CWORD and
_KAFKACTL_COMPLETE=complete_bash, what the bash script sets); an unreachable or silent broker
gives nothing, quickly, and prints nothing."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata

from kafkactl.admin.completion import COMPLETION_TIMEOUT_S

# Tests that expect names give the lookup more than the default 2 s: the suite shares a small
# machine with a broker under load; the unreachable-cluster tests keep the default budget.
PATIENT = {"KAFKACTL_COMPLETION_TIMEOUT": "20"}


@pytest.fixture
def engine() -> str:
    """One engine: completion asks the admin client, kafka-python's on both."""
    return "kafka-python"


def bash_complete(run_cli, words: str, env: dict[str, str] | None = None):
    """What the bash completion function runs for `words` (the last one being completed)."""
    comp_env = {
        **PATIENT,
        "_KAFKACTL_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
        **(env or {}),
    }
    return run_cli(env=comp_env, timeout=30)


def names(result) -> list[str]:
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b"", "completion must print nothing on the terminal"
    return result.stdout.decode().split()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield int(server.getsockname()[1])


def test_show_completion_prints_the_script_for_the_shell_it_runs_in(cli_env, tmp_path):
    # Typer detects the shell from the parent processes: run it from bash, as a user would.
    result = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m kafkactl --show-completion; exit $?"],
        capture_output=True,
        env=cli_env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    script = result.stdout.decode()
    assert "complete -o default -F _kafkactl_completion kafkactl" in script
    assert "_KAFKACTL_COMPLETE=complete_bash" in script


def test_install_completion_writes_the_bash_script_and_sources_it(cli_env, tmp_path):
    home = tmp_path / "home"
    result = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m kafkactl --install-completion; exit $?"],
        capture_output=True,
        env={**cli_env, "HOME": str(home)},
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    installed = home / ".bash_completions" / "kafkactl.sh"
    assert "_KAFKACTL_COMPLETE=complete_bash" in installed.read_text()
    assert f"source '{installed}'" in (home / ".bashrc").read_text()


@pytest.mark.parametrize(
    ("shell", "fragment"),
    [
        ("bash", "complete -o default -F _kafkactl_completion kafkactl"),
        ("zsh", "compdef _kafkactl_completion kafkactl"),
        ("fish", "complete --command kafkactl"),
    ],
)
def test_each_shell_gets_its_script_by_name(run_cli, shell: str, fragment: str):
    result = run_cli(env={"_KAFKACTL_COMPLETE": f"source_{shell}"})
    assert result.returncode == 0, result.stderr.decode()
    assert fragment in result.stdout.decode()
    assert f"_KAFKACTL_COMPLETE=complete_{shell}" in result.stdout.decode()


def test_topic_names_complete_from_the_broker(run_cli, admin, topic_name):
    mine = [f"{topic_name}-orders", f"{topic_name}-orders.dlq", f"{topic_name}-payments"]
    other = f"x{topic_name}-orders"
    # Internal-looking (a leading `_`, like __consumer_offsets, which a fresh broker has not
    # created yet): offered only once the word starts with `_`.
    internal = f"_{topic_name}-private"
    admin.create_topics([NewTopic(name, 1, 1) for name in [*mine, other, internal]])
    assert names(bash_complete(run_cli, f"kafkactl consume {topic_name}-o")) == mine[:2]
    assert names(bash_complete(run_cli, f"kafkactl produce {topic_name}")) == mine
    found = names(bash_complete(run_cli, "kafkactl topics describe "))
    assert set(mine) | {other} <= set(found)
    assert not [name for name in found if name.startswith("_")]
    assert names(bash_complete(run_cli, f"kafkactl consume _{topic_name}")) == [internal]


def test_group_names_complete_from_the_broker(run_cli, admin, brokers, topic_name):
    admin.create_topics([NewTopic(topic_name, 1, 1)])
    groups = [f"{topic_name}-billing", f"{topic_name}-reports", f"y{topic_name}-billing"]
    for group in groups:
        consumer = KafkaConsumer(
            bootstrap_servers=brokers, group_id=group, enable_auto_commit=False
        )
        consumer.assign([TopicPartition(topic_name, 0)])
        consumer.commit({TopicPartition(topic_name, 0): OffsetAndMetadata(0, "", -1)})
        consumer.close()
    words = f"kafkactl consume {topic_name} -g {topic_name}-"
    assert names(bash_complete(run_cli, words)) == groups[:2]
    words = f"kafkactl groups describe {topic_name}-b"
    assert names(bash_complete(run_cli, words)) == groups[:1]


def test_zsh_and_fish_get_the_same_names_in_their_formats(run_cli, admin, topic_name):
    mine = [f"{topic_name}-a", f"{topic_name}-b"]
    admin.create_topics([NewTopic(name, 1, 1) for name in [*mine, f"x{topic_name}"]])
    line = f"kafkactl topics describe {topic_name}"
    zsh = run_cli(
        env={**PATIENT, "_KAFKACTL_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line}
    )
    assert zsh.returncode == 0 and zsh.stderr == b"", zsh.stderr.decode()
    assert zsh.stdout.decode().strip() == f"""_arguments '*: :(("{mine[0]}"\n"{mine[1]}"))'"""
    fish_env = {
        **PATIENT,
        "_KAFKACTL_COMPLETE": "complete_fish",
        "_TYPER_COMPLETE_FISH_ACTION": "get-args",
        "_TYPER_COMPLETE_ARGS": line,
    }
    assert names(run_cli(env=fish_env)) == mine


def test_the_brokers_flag_on_the_command_line_picks_the_cluster(
    run_cli, admin, brokers, topic_name, closed_port
):
    admin.create_topics([NewTopic(topic_name, 1, 1)])
    elsewhere = {"KAFKA_BROKERS": f"127.0.0.1:{closed_port}"}
    words = f"kafkactl replay-dlq -b {brokers} {topic_name}"
    assert names(bash_complete(run_cli, words, elsewhere)) == [topic_name]
    words = f"kafkactl groups reset-offsets g --brokers {brokers} -t {topic_name}"
    assert names(bash_complete(run_cli, words, elsewhere)) == [topic_name]


@pytest.mark.parametrize("port_kind", ["closed", "silent"])
def test_an_unreachable_broker_completes_nothing_quickly_and_quietly(
    run_cli, closed_port, silent_port, port_kind: str
):
    port = closed_port if port_kind == "closed" else silent_port
    env = {
        "KAFKA_BROKERS": f"127.0.0.1:{port}",
        "KAFKA_CONNECT_TIMEOUT": "60s",
        "KAFKACTL_COMPLETION_TIMEOUT": str(COMPLETION_TIMEOUT_S),
    }
    started = time.monotonic()
    assert names(bash_complete(run_cli, "kafkactl cons", env)) == ["consume"]
    start_up = time.monotonic() - started  # a completion that asks no cluster
    started = time.monotonic()
    assert names(bash_complete(run_cli, "kafkactl consume or", env)) == []
    assert names(bash_complete(run_cli, "kafkactl groups describe ", env)) == []
    each = (time.monotonic() - started) / 2
    assert each < start_up + COMPLETION_TIMEOUT_S + 1.0


def test_bad_settings_complete_nothing_quietly(run_cli, tmp_path: Path):
    broken = tmp_path / "broken.toml"
    broken.write_text("current-context = [\n")
    assert names(bash_complete(run_cli, f"kafkactl consume --config {broken} o")) == []
    assert names(bash_complete(run_cli, "kafkactl consume o", {"KAFKA_BROKERS": ""})) == []
