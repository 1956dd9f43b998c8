"""Topic and consumer group names for shell completion, asked of the configured cluster.

A TAB must never hang the shell or spill text on the terminal: the whole lookup, connecting
included, gets COMPLETION_TIMEOUT_S, and an unreachable cluster, bad settings or any error
give no names at all.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from kafkactl.config import Settings
    from kafkactl.kafka.admin_port import AdminPort

# Everything one completion may take: start-up is on top (about 0.3 s).
COMPLETION_TIMEOUT_S = 2.0
# Connecting gives up before that, so an unreachable cluster ends the lookup on its own.
CONNECT_TIMEOUT_S = 1.5
# A slow cluster (far away, or a loaded machine) may be given more: seconds, 0.1 to 60.
TIMEOUT_VAR = "KAFKACTL_COMPLETION_TIMEOUT"


def completion_timeout(environ: Mapping[str, str]) -> float:
    """The lookup budget: KAFKACTL_COMPLETION_TIMEOUT seconds when valid, else the default
    (a TAB has nowhere to report a bad value)."""
    try:
        seconds = float(environ.get(TIMEOUT_VAR, ""))
    except ValueError:
        return COMPLETION_TIMEOUT_S
    return seconds if 0.1 <= seconds <= 60 else COMPLETION_TIMEOUT_S


NameKind = Literal["topics", "groups"]
WithAdmin = Callable[["Settings", Callable[["AdminPort"], list[str]]], list[str]]


def matching(names: Iterable[str], incomplete: str) -> list[str]:
    """The names that start with `incomplete`, sorted; internal ones (a leading `_`, like
    `__consumer_offsets`) only when `incomplete` starts with `_` too."""
    internal = incomplete.startswith("_")
    return sorted(
        {n for n in names if n.startswith(incomplete) and (internal or not n.startswith("_"))}
    )


def within(fetch: Callable[[], list[str]], timeout: float) -> list[str]:
    """What `fetch` returns if it finishes within `timeout` seconds; [] when it fails or is late.

    `fetch` runs on a daemon thread, so a client stuck in a request cannot keep the process
    (and the shell waiting on it) alive.
    """
    found: list[list[str]] = []

    def run() -> None:
        with contextlib.suppress(Exception):  # completion offers nothing rather than an error
            found.append(fetch())

    thread = threading.Thread(target=run, name="kafkactl-completion", daemon=True)
    thread.start()
    thread.join(timeout)
    return found[0] if found else []


def completion_settings(
    flags: Mapping[str, Any],
    config_path: str | None = None,
    context: str | None = None,
    connect_timeout: float = CONNECT_TIMEOUT_S,
) -> Settings:
    """The settings a command would use (flags, environment, config file), connecting for at
    most `connect_timeout` seconds; raises ConfigError like any command when they are bad."""
    from kafkactl.config import load_settings

    settings = load_settings(flags, config_path=config_path, context=context)
    return replace(settings, connect_timeout=min(settings.connect_timeout, connect_timeout))


def _listed(admin: AdminPort, kind: NameKind) -> list[str]:
    if kind == "topics":
        return admin.topic_names()
    return [listing.group for listing in admin.list_groups()]


def cluster_names(
    kind: NameKind,
    incomplete: str,
    settings: Callable[[], Settings],
    timeout: float = COMPLETION_TIMEOUT_S,
    with_admin: WithAdmin | None = None,
) -> list[str]:
    """Topic or group names of the cluster that start with `incomplete` (see `matching`);
    none when the settings, the connection or the listing fail, or take over `timeout`.

    `with_admin` runs the listing with a connected admin client (kafka.with_admin; tests
    give a fake cluster's).
    """

    def fetch() -> list[str]:
        from kafkactl import kafka

        run = with_admin or kafka.with_admin
        return run(settings(), lambda admin: _listed(admin, kind))

    return matching(within(fetch, timeout), incomplete)
