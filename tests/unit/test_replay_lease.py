"""The replay's lease: held as the lease group's leader, refused naming the holder, lost."""

from __future__ import annotations

import os
import threading

import pytest

from kafkactl.config import load_settings
from kafkactl.replay import lease as lease_module
from kafkactl.replay.lease import ReplayRunning, describe_me, replay_lease

SETTINGS = load_settings(env={}, config_path=os.devnull)


class FakeLease:
    """A member of the lease group: leader or not, and how many polls it stays leader."""

    def __init__(self, held: bool, holder: str, polls: int = 10**9) -> None:
        self._held = held
        self.holder = holder
        self.polls = polls
        self.closed = False
        self.joined: tuple[str, str, str] | None = None

    @property
    def held(self) -> bool:
        return self._held

    def keep(self) -> bool:
        self.polls -= 1
        self._held = self._held and self.polls > 0
        return self._held

    def close(self) -> None:
        self.closed = True


def _join(member: FakeLease):
    def join(settings, group: str, topic: str, description: str) -> FakeLease:
        member.joined = (group, topic, description)
        return member

    return join


def test_the_leader_holds_the_lease_for_the_block_and_leaves_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lease_module, "KEEP_EVERY", 0.01)
    member = FakeLease(True, "me")
    lost = threading.Event()
    with replay_lease(SETTINGS, "o.dlq", "kafkactl-replay.o.dlq", lost.set, _join(member)):
        assert not member.closed
    assert member.closed and not lost.is_set()
    assert member.joined is not None
    assert member.joined[:2] == ("kafkactl-replay.o.dlq.lease", "o.dlq")
    assert f"pid {os.getpid()}" in member.joined[2]


def test_a_follower_is_refused_naming_the_holder_and_leaves() -> None:
    member = FakeLease(False, "pid 4242 on host-a, started 01:02:03 UTC [ab12]")
    with (
        pytest.raises(ReplayRunning) as refused,
        replay_lease(SETTINGS, "o.dlq", "g", lambda: None, _join(member)),
    ):
        pytest.fail("the block must not run")
    assert "another replay-dlq of o.dlq with replay group g is running" in str(refused.value)
    assert "pid 4242 on host-a" in str(refused.value)
    assert refused.value.exit_code == 1 and member.closed


def test_a_lost_lease_is_reported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lease_module, "KEEP_EVERY", 0.01)
    member = FakeLease(True, "me", polls=3)
    lost = threading.Event()
    calls: list[int] = []

    def on_lost() -> None:
        calls.append(1)
        lost.set()

    with replay_lease(SETTINGS, "o.dlq", "g", on_lost, _join(member)):
        assert lost.wait(5)
    assert calls == [1] and member.closed


def test_describe_me_names_the_process_and_host() -> None:
    import socket

    assert describe_me().startswith(f"pid {os.getpid()} on {socket.gethostname()}, started ")


def test_a_member_failing_for_a_moment_keeps_the_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lease_module, "KEEP_EVERY", 0.01)

    class Flaky(FakeLease):
        def keep(self) -> bool:
            self.polls -= 1
            if self.polls in (7, 8):  # a coordinator moving: two polls fail
                raise RuntimeError("NotCoordinatorError")
            return True

    member = Flaky(True, "me", polls=10)
    lost = threading.Event()
    with replay_lease(SETTINGS, "o.dlq", "g", lost.set, _join(member)):
        while member.polls > 0:
            threading.Event().wait(0.01)
    assert not lost.is_set()
