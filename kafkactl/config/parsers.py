"""Value parsers: each takes a string (env, flag) or a TOML value and returns the typed value.

A parser raises ValueError with the problem and what is allowed; the loader adds the setting's
name and where the value came from.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable
from pathlib import Path

from kafkactl.units import format_duration, parse_duration, parse_durations, printable

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
OAUTH_METHODS = ("oidc", "command", "aws-msk-iam")
ISOLATION_LEVELS = ("read_uncommitted", "read_committed")
COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("auto", "json", "pretty")
ENGINE_CHOICES = ("auto", "kafka-python", "librdkafka")
INT32_MAX = 2_147_483_647
# Longest a duration setting may be: librdkafka takes backoffs in ms up to one hour, and every
# timeout and period beyond a day is a typo rather than a plan.
HOUR_S = 3600.0
DAY_S = 86400.0


def choice(allowed: tuple[str, ...], upper: bool = False) -> Callable[[object], str]:
    """One of `allowed`, compared in lower case (upper case with `upper`)."""

    def parse(raw: object) -> str:
        text = str(raw).strip()
        text = text.upper() if upper else text.lower()
        if text not in allowed:
            raise ValueError(f"{raw!r} is not allowed; use one of {', '.join(allowed)}")
        return text

    return parse


def whole_number(low: int, high: int | None = None) -> Callable[[object], int]:
    """A whole number from `low` to `high` (no upper bound when None)."""

    def parse(raw: object) -> int:
        text = str(raw).strip()
        if isinstance(raw, bool) or not re.fullmatch(r"[+-]?[0-9]+", text):
            raise ValueError(f"{raw!r} is not a whole number")
        value = int(text)
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise ValueError(f"{value} is out of range; use a whole number {bound}")
        return value

    return parse


def boolean(raw: object) -> bool:
    """true/false, 1/0, yes/no, on/off."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{raw!r} is not a boolean; use true or false")


def non_empty(raw: object) -> str:
    """Any text that is not empty (whitespace stripped)."""
    value = str(raw).strip()
    if not value:
        raise ValueError("must not be empty")
    return value


_HOST = re.compile(r"[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]")


def group(raw: object) -> str:
    """A consumer group name that can be part of a topic name (retry and DLQ topics)."""
    from kafkactl.names import topic_problem

    value = non_empty(raw)
    problem = topic_problem(value)
    if problem:
        raise ValueError(
            f"group name '{printable(value)}' {problem} (retry and DLQ topics are named after it)"
        )
    return value


def brokers(raw: object) -> tuple[str, ...]:
    """host:port[,host:port...] (a TOML list of them too)."""
    items = raw if isinstance(raw, list) else str(raw).split(",")
    servers = tuple(str(s).strip() for s in items)
    if not any(servers):
        raise ValueError("is empty: no bootstrap server given; use host:port[,host:port...]")
    for n, server in enumerate(servers, 1):
        if not server:
            raise ValueError(
                f"entry {n} of {len(servers)} is empty; use host:port[,host:port...] "
                "without empty entries"
            )
        host, sep, port = server.rpartition(":")
        if not sep or not host or not _HOST.fullmatch(host):
            raise ValueError(f"{server!r} is not host:port (e.g. localhost:9092)")
        if not re.fullmatch(r"[0-9]{1,5}", port) or not 0 < int(port) < 65536:
            raise ValueError(f"{server!r} is not host:port: the port must be 1 to 65535")
    return servers


def acks(raw: object) -> int | str:
    """0, 1 or all (-1 spelled as all)."""
    value = str(raw).strip().lower()
    if value in ("all", "-1"):
        return "all"
    if value in ("0", "1"):
        return int(value)
    raise ValueError(f"{raw!r} is not allowed; use 0, 1 or all")


def check_duration(value: float, text: str, longest: float = DAY_S) -> float:
    """`value` seconds when finite, at least 1ms and at most `longest`; else ValueError."""
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite duration")
    if value < 0.001:
        raise ValueError(f"{text!r} must be at least 1ms")
    if value > longest:
        raise ValueError(f"{text!r} is too long; at most {format_duration(longest)}")
    return value


def _bounded_duration(longest: float) -> Callable[[object], float]:
    def parse(raw: object) -> float:
        return check_duration(parse_duration(str(raw)), str(raw), longest)

    return parse


duration = _bounded_duration(DAY_S)
backoff = _bounded_duration(HOUR_S)


def delays(raw: object) -> tuple[float, ...]:
    """Comma-separated durations (a TOML list too), each at most a week."""
    value = ",".join(str(x) for x in raw) if isinstance(raw, list) else str(raw)
    return tuple(check_duration(v, value, 7 * DAY_S) for v in parse_durations(value))


def template(required: set[str], allowed: set[str]) -> Callable[[object], str]:
    """A format string using only `allowed` placeholders and every `required` one."""

    def parse(raw: object) -> str:
        value = non_empty(raw)
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid template: {exc}") from None
        if names - allowed:
            raise ValueError(
                f"unknown placeholder {{{sorted(names - allowed)[0]}}}; "
                f"allowed: {', '.join('{' + n + '}' for n in sorted(allowed))}"
            )
        if required - names:
            raise ValueError(f"must contain {', '.join('{' + n + '}' for n in sorted(required))}")
        return value

    return parse


def http_url(raw: object) -> str:
    """An http:// or https:// URL with a host, without user:password@ (credentials have
    settings of their own, so they are never shown); a trailing slash is dropped."""
    return _plain_url(
        raw,
        "use http[s]://host:port[/path], e.g. http://localhost:8081",
        "set KAFKA_SCHEMA_REGISTRY_USERNAME and KAFKA_SCHEMA_REGISTRY_PASSWORD instead",
    )


def token_url(raw: object) -> str:
    """An OAuth token endpoint: an http(s) URL without credentials, query or fragment."""
    return _plain_url(
        raw,
        "use https://host[:port]/path, e.g. https://idp.example.com/oauth2/token",
        "set KAFKA_SASL_OAUTH_CLIENT_ID and KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE instead",
    )


def _plain_url(raw: object, example: str, credentials_hint: str) -> str:
    from urllib.parse import urlsplit

    value = non_empty(raw)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(
            f"{printable(value)!r} is not a URL with a valid port; {example}"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{printable(value)!r} is not an http:// or https:// URL; {example}")
    if "@" in parts.netloc:
        raise ValueError(f"must not carry user:password@; {credentials_hint}")
    if port == 0 or parts.query or parts.fragment or any(c.isspace() for c in value):
        raise ValueError(f"{printable(value)!r} is not a plain URL; {example}")
    return value.rstrip("/")


def existing_file(raw: object) -> str:
    """The path of a regular file of at most 1 MiB that exists (`~` expanded): never a
    directory, a FIFO or a device, which would hang or flood whatever reads it."""
    from kafkactl.config.files import file_problem

    path = Path(str(raw)).expanduser()
    problem = file_problem(path, "certificate, key and password files")
    if problem == "does not exist":
        raise ValueError(f"file {str(path)!r} does not exist")
    if problem is not None:
        raise ValueError(f"{str(path)!r} {problem}")
    return str(path)


_EXTENSION_KEY = re.compile(r"[A-Za-z]+")
_EXTENSION_VALUE = re.compile(r"[\x21-\x7e \t]+")


def extensions(raw: object) -> tuple[tuple[str, str], ...]:
    """SASL/OAUTHBEARER extensions `key=value[,key=value...]` (a TOML table or list too):
    keys are letters (RFC 7628), never `auth`; values printable ASCII."""
    pairs = _pairs(raw, "use key=value[,key=value...], e.g. logicalCluster=lkc-abc12")
    for key, value in pairs:
        if not _EXTENSION_KEY.fullmatch(key) or key == "auth":
            raise ValueError(
                f"extension name {printable(key)!r} is not allowed; use letters only (not auth)"
            )
        if not _EXTENSION_VALUE.fullmatch(value):
            raise ValueError(f"the value of extension {key} must be printable ASCII")
    return pairs


def client_options(raw: object) -> tuple[tuple[str, str], ...]:
    """Client settings passed to the engine, `key=value` each: a list (the repeated -X flag,
    a TOML list), a TOML table, or newline-separated text (KAFKA_CLIENT_OPTIONS)."""
    if isinstance(raw, str):
        raw = [line for line in raw.splitlines() if line.strip()]
    pairs = _pairs(raw, "use key=value, e.g. -X socket.keepalive.enable=true")
    for key, _ in pairs:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", key):
            raise ValueError(f"{printable(key)!r} is not a client setting name")
    return pairs


def _pairs(raw: object, example: str) -> tuple[tuple[str, str], ...]:
    """(key, value) pairs from a TOML table, a list of `k=v` or comma-separated `k=v` text."""
    if isinstance(raw, dict):
        items = [f"{k}={_toml_text(v)}" for k, v in raw.items()]
    elif isinstance(raw, list | tuple):
        items = [str(x) for x in raw]
    else:
        items = [x for x in str(raw).split(",") if x.strip()]
    pairs: list[tuple[str, str]] = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{printable(item)!r} is not key=value; {example}")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


def _toml_text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
