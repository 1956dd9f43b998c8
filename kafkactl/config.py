"""Settings: flag > environment > config-file context > default, each validated when loaded."""

from __future__ import annotations

import math
import os
import re
import string
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafkactl.errors import ConfigError
from kafkactl.units import format_duration, parse_duration, parse_durations

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("auto", "json", "pretty")
ENGINE_CHOICES = ("auto", "kafka-python", "librdkafka")
MASK = "********"
INT32_MAX = 2_147_483_647
# Longest a duration setting may be: librdkafka takes backoffs in ms up to one hour, and every
# timeout and period beyond a day is a typo rather than a plan.
HOUR_S = 3600.0
DAY_S = 86400.0


def not_utf8(text: str) -> bool:
    """True when `text` holds bytes that were not UTF-8 (Python's surrogate escapes)."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def printable(text: str) -> str:
    """`text` as one printable line: bytes that are not UTF-8 as \\xNN."""
    return text.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")


# --- value parsers: take a string (env, flag) or a TOML value, return the typed value ---------


def _choice(allowed: tuple[str, ...], upper: bool = False) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = str(raw).strip()
        text = text.upper() if upper else text.lower()
        if text not in allowed:
            raise ValueError(f"{raw!r} is not allowed; use one of {', '.join(allowed)}")
        return text

    return parse


def _int(low: int, high: int | None = None) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        text = str(raw).strip()
        if isinstance(raw, bool) or not re.fullmatch(r"[+-]?[0-9]+", text):
            raise ValueError(f"{raw!r} is not a whole number")
        value = int(text)
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise ValueError(f"{value} is out of range; use a whole number {bound}")
        return value

    return parse


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{raw!r} is not a boolean; use true or false")


def _text(raw: Any) -> str:
    text = str(raw).strip()
    if not text:
        raise ValueError("must not be empty")
    return text


_HOST = re.compile(r"[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]")


def _group(raw: Any) -> str:
    from kafkactl.names import topic_problem

    text = _text(raw)
    problem = topic_problem(text)
    if problem:
        raise ValueError(
            f"group name '{printable(text)}' {problem} (retry and DLQ topics are named after it)"
        )
    return text


def _brokers(raw: Any) -> tuple[str, ...]:
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


def _acks(raw: Any) -> int | str:
    text = str(raw).strip().lower()
    if text in ("all", "-1"):
        return "all"
    if text in ("0", "1"):
        return int(text)
    raise ValueError(f"{raw!r} is not allowed; use 0, 1 or all")


def _bounded_duration(longest: float) -> Callable[[Any], float]:
    def parse(raw: Any) -> float:
        return check_duration(parse_duration(str(raw)), str(raw), longest)

    return parse


def check_duration(value: float, text: str, longest: float = DAY_S) -> float:
    """`value` seconds when finite, at least 1ms and at most `longest`; else ValueError."""
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite duration")
    if value < 0.001:
        raise ValueError(f"{text!r} must be at least 1ms")
    if value > longest:
        raise ValueError(f"{text!r} is too long; at most {format_duration(longest)}")
    return value


_duration = _bounded_duration(DAY_S)
_backoff = _bounded_duration(HOUR_S)


def _delays(raw: Any) -> tuple[float, ...]:
    text = ",".join(str(x) for x in raw) if isinstance(raw, list) else str(raw)
    return tuple(check_duration(v, text, 7 * DAY_S) for v in parse_durations(text))


def _template(required: set[str], allowed: set[str]) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = _text(raw)
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a valid template: {exc}") from None
        if names - allowed:
            raise ValueError(
                f"unknown placeholder {{{sorted(names - allowed)[0]}}}; "
                f"allowed: {', '.join('{' + n + '}' for n in sorted(allowed))}"
            )
        if required - names:
            raise ValueError(f"must contain {', '.join('{' + n + '}' for n in sorted(required))}")
        return text

    return parse


def _file(raw: Any) -> str:
    path = Path(str(raw)).expanduser()
    if not path.is_file():
        raise ValueError(f"file {str(path)!r} does not exist")
    return str(path)


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its attribute name, environment variable, default, parser and help."""

    name: str
    env: str
    default: Any
    parse: Callable[[Any], Any]
    help: str
    secret: bool = False

    @property
    def file_key(self) -> str:
        """The key of this setting inside a config-file context."""
        return self.name.replace("_", "-")


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("brokers", "KAFKA_BROKERS", "localhost:9092", _brokers, "bootstrap servers"),
    SettingSpec("client_id", "KAFKA_CLIENT_ID", "kafkactl", _text, "client id"),
    SettingSpec(
        "engine",
        "KAFKA_ENGINE",
        "auto",
        _choice(ENGINE_CHOICES),
        "auto (librdkafka when installed), kafka-python, librdkafka",
    ),
    SettingSpec(
        "security_protocol",
        "KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT",
        _choice(SECURITY_PROTOCOLS, upper=True),
        "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
    ),
    SettingSpec(
        "sasl_mechanism",
        "KAFKA_SASL_MECHANISM",
        None,
        _choice(SASL_MECHANISMS, upper=True),
        "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
    ),
    SettingSpec("sasl_username", "KAFKA_SASL_USERNAME", None, _text, "SASL user"),
    SettingSpec("sasl_password", "KAFKA_SASL_PASSWORD", None, _text, "SASL password", True),
    SettingSpec(
        "sasl_password_file",
        "KAFKA_SASL_PASSWORD_FILE",
        None,
        _file,
        "file holding the SASL password (used unless KAFKA_SASL_PASSWORD is set as high)",
    ),
    SettingSpec("ssl_cafile", "KAFKA_SSL_CAFILE", None, _file, "CA certificate (PEM)"),
    SettingSpec("ssl_certfile", "KAFKA_SSL_CERTFILE", None, _file, "client certificate (PEM)"),
    SettingSpec("ssl_keyfile", "KAFKA_SSL_KEYFILE", None, _file, "client key (PEM)"),
    SettingSpec(
        "ssl_check_hostname",
        "KAFKA_SSL_CHECK_HOSTNAME",
        True,
        _bool,
        "check that the broker certificate names the host connected to",
    ),
    SettingSpec("producer_acks", "KAFKA_PRODUCER_ACKS", "all", _acks, "0, 1, all"),
    SettingSpec(
        "producer_idempotent",
        "KAFKA_PRODUCER_IDEMPOTENT",
        True,
        _bool,
        "idempotent producer (requires acks=all)",
    ),
    SettingSpec(
        "producer_retries",
        "KAFKA_PRODUCER_RETRIES",
        10,
        _int(0, INT32_MAX),
        "publish attempts on retriable errors",
    ),
    SettingSpec(
        "producer_compression",
        "KAFKA_PRODUCER_COMPRESSION",
        "none",
        _choice(COMPRESSIONS),
        "none, gzip, snappy, lz4, zstd",
    ),
    SettingSpec(
        "producer_linger_ms", "KAFKA_PRODUCER_LINGER_MS", 20, _int(0, 900_000), "batching delay"
    ),
    SettingSpec(
        "producer_batch_size",
        "KAFKA_PRODUCER_BATCH_SIZE",
        262144,
        _int(1, INT32_MAX),
        "batch size in bytes",
    ),
    SettingSpec(
        "consumer_group_id",
        "KAFKA_CONSUMER_GROUP_ID",
        None,
        _group,
        "group (none: consume reads without one)",
    ),
    SettingSpec("consumer_workers", "KAFKA_CONSUMER_WORKERS", 4, _int(1, 1024), "worker pool"),
    SettingSpec(
        "consumer_fetch_min_bytes",
        "KAFKA_CONSUMER_FETCH_MIN_BYTES",
        None,
        _int(1, 100_000_000),
        "fetch.min.bytes",
    ),
    SettingSpec(
        "consumer_fetch_max_bytes",
        "KAFKA_CONSUMER_FETCH_MAX_BYTES",
        None,
        _int(1, 2_147_483_135),
        "fetch.max.bytes",
    ),
    SettingSpec(
        "consumer_max_poll_records",
        "KAFKA_CONSUMER_MAX_POLL_RECORDS",
        None,
        _int(1, 1_000_000),
        "max.poll.records",
    ),
    SettingSpec(
        "consumer_auto_offset_reset",
        "KAFKA_CONSUMER_AUTO_OFFSET_RESET",
        "earliest",
        _choice(("earliest", "latest")),
        "earliest, latest",
    ),
    SettingSpec(
        "retry_delays", "KAFKA_RETRY_DELAYS", "1s,10s,60s", _delays, "one delay per retry tier"
    ),
    SettingSpec(
        "retry_topic_template",
        "KAFKA_RETRY_TOPIC_TEMPLATE",
        "{topic}.{group}.retry.{n}",
        _template({"topic", "n"}, {"topic", "group", "n"}),
        "retry tier names",
    ),
    SettingSpec(
        "dlq_topic_template",
        "KAFKA_DLQ_TOPIC_TEMPLATE",
        "{topic}.{group}.dlq",
        _template({"topic"}, {"topic", "group"}),
        "DLQ name",
    ),
    SettingSpec(
        "reconnect_backoff_min", "KAFKA_RECONNECT_BACKOFF_MIN", "1s", _backoff, "first backoff"
    ),
    SettingSpec(
        "reconnect_backoff_max", "KAFKA_RECONNECT_BACKOFF_MAX", "30s", _backoff, "longest backoff"
    ),
    SettingSpec(
        "connect_timeout",
        "KAFKA_CONNECT_TIMEOUT",
        "30s",
        _duration,
        "give up connecting after this long (exit 3)",
    ),
    SettingSpec("health_interval", "KAFKA_HEALTH_INTERVAL", "30s", _duration, "health loop period"),
    SettingSpec(
        "metrics_port", "KAFKA_METRICS_PORT", None, _int(0, 65535), "Prometheus /metrics port"
    ),
    SettingSpec("log_level", "KAFKA_LOG_LEVEL", "INFO", _choice(LOG_LEVELS, upper=True), "level"),
    SettingSpec(
        "log_format", "KAFKA_LOG_FORMAT", "auto", _choice(LOG_FORMATS), "json, pretty, auto"
    ),
)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}
SPEC_BY_FILE_KEY = {spec.file_key: spec for spec in SPECS}


@dataclass(frozen=True)
class Settings:
    """The effective configuration, typed, with the source of every value."""

    brokers: tuple[str, ...]
    client_id: str
    engine: str
    security_protocol: str
    sasl_mechanism: str | None
    sasl_username: str | None
    sasl_password: str | None = field(repr=False)
    sasl_password_file: str | None
    ssl_cafile: str | None
    ssl_certfile: str | None
    ssl_keyfile: str | None
    ssl_check_hostname: bool
    producer_acks: int | str
    producer_idempotent: bool
    producer_retries: int
    producer_compression: str
    producer_linger_ms: int
    producer_batch_size: int
    consumer_group_id: str | None
    consumer_workers: int
    consumer_fetch_min_bytes: int | None
    consumer_fetch_max_bytes: int | None
    consumer_max_poll_records: int | None
    consumer_auto_offset_reset: str
    retry_delays: tuple[float, ...]
    retry_topic_template: str
    dlq_topic_template: str
    reconnect_backoff_min: float
    reconnect_backoff_max: float
    connect_timeout: float
    health_interval: float
    metrics_port: int | None
    log_level: str
    log_format: str
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    context: str | None = None
    config_file: str | None = None

    def secrets(self) -> list[str]:
        """Secret values that must never be printed or logged."""
        return [str(getattr(self, s.name)) for s in SPECS if s.secret and getattr(self, s.name)]

    def rows(self) -> list[tuple[str, str, str]]:
        """(environment variable, displayed value, source) per setting, secrets masked."""
        return [
            (s.env, display_value(s, getattr(self, s.name)), self.sources[s.name]) for s in SPECS
        ]

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """JSON-ready view: setting -> value (secrets masked), env, source."""
        out: dict[str, dict[str, Any]] = {}
        for spec in SPECS:
            value = getattr(self, spec.name)
            if spec.secret and value:
                value = MASK
            elif isinstance(value, tuple):
                value = list(value)
            out[spec.name] = {"value": value, "env": spec.env, "source": self.sources[spec.name]}
        return out


def display_value(spec: SettingSpec, value: Any) -> str:
    """How a value is shown to a person (durations as `10s`, lists comma-joined, secrets masked)."""
    if value is None:
        return "-"
    if spec.secret:
        return MASK
    if spec.parse in (_duration, _backoff):
        return format_duration(value)
    if spec.parse is _delays:
        return ",".join(format_duration(v) for v in value)
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def find_config_file(explicit: str | None, env: Mapping[str, str]) -> tuple[Path | None, str]:
    """The config file to read and how it was chosen; an explicit path must exist."""
    if explicit:
        return Path(explicit).expanduser(), "--config"
    if env.get("KAFKACTL_CONFIG"):
        return Path(env["KAFKACTL_CONFIG"]).expanduser(), "KAFKACTL_CONFIG"
    local = Path("kafkactl.toml")
    if local.is_file():
        return local, "./kafkactl.toml"
    xdg = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kafkactl" / "config.toml"
    if xdg.is_file():
        return xdg, "XDG_CONFIG_HOME"
    return None, ""


def _read_utf8(path: Path) -> str:
    """The file's text; a ConfigError naming the line (and its setting) that is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_no = data.count(b"\n", 0, exc.start) + 1
        line = data.split(b"\n")[line_no - 1].decode("utf-8", "surrogateescape")
        key = line.partition("=")[0].strip() if "=" in line else ""
        what = f"line {line_no}" + (f" (setting {printable(key)})" if key else "")
        raise ConfigError(
            "config file",
            str(path),
            f"{what} is not valid UTF-8: {printable(line.strip())}; the file must be UTF-8 text",
        ) from None


def _read_context(
    path: Path | None, how: str, context: str | None, context_source: str
) -> tuple[dict[str, Any], str | None]:
    """The key/value pairs of the chosen context of the config file."""
    if path is None:
        if context:
            raise ConfigError(
                "context",
                context_source,
                f"context {context!r} requested but no config file found "
                "(use --config PATH or KAFKACTL_CONFIG, or create ./kafkactl.toml)",
            )
        return {}, None
    try:
        data = tomllib.loads(_read_utf8(path))
    except FileNotFoundError:
        raise ConfigError("config file", how, f"{str(path)!r} does not exist") from None
    except OSError as exc:
        raise ConfigError(
            "config file", how, f"cannot read {str(path)!r}: {exc.strerror}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config file", str(path), f"is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"contexts", "current-context", "current_context"})
    if unknown:
        raise ConfigError(
            f"{unknown[0]!r}",
            str(path),
            "settings belong in a [contexts.NAME] table; the top level allows only "
            "current-context and [contexts.*]",
        )
    contexts = data.get("contexts", {})
    if not isinstance(contexts, dict):
        raise ConfigError("contexts", str(path), "must be a table of [contexts.NAME] sections")
    if context is None:
        current = data.get("current-context", data.get("current_context"))
        if current is None:
            if len(contexts) == 1:
                current = next(iter(contexts))
            else:
                return {}, None
        context, context_source = str(current), f"{path} current-context"
    if context not in contexts:
        known = ", ".join(sorted(contexts)) or "none defined"
        raise ConfigError(
            "context", context_source, f"unknown context {context!r} in {path} (known: {known})"
        )
    values = contexts[context]
    if not isinstance(values, dict):
        raise ConfigError(f"contexts.{context}", str(path), "must be a table of settings")
    return values, context


def load_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_path: str | None = None,
    context: str | None = None,
    flag_names: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve and validate every setting; raises ConfigError (exit 2) naming the bad one.

    `flag_names` maps a setting given in `flags` to its flag, so its errors name the flag.
    An empty environment variable counts as unset, except KAFKA_BROKERS: an empty broker
    list is an error rather than a silent localhost.
    """
    env = os.environ if env is None else env
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    names = dict(flag_names or {})
    for var in ("KAFKACTL_CONFIG", "KAFKACTL_CONTEXT", *(spec.env for spec in SPECS)):
        if var in env and not_utf8(env[var]):
            raise ConfigError(var, "env", f"is not valid UTF-8: '{printable(env[var])}'")
    context_source = "--context" if context else "KAFKACTL_CONTEXT"
    context = context or env.get("KAFKACTL_CONTEXT") or None
    path, how = find_config_file(config_path, env)
    file_values, context = _read_context(path, how, context, context_source)

    raw: dict[str, tuple[Any, str]] = {}
    for key, value in file_values.items():
        spec = SPEC_BY_FILE_KEY.get(str(key).replace("_", "-"))
        if spec is None:
            allowed = ", ".join(SPEC_BY_FILE_KEY)
            raise ConfigError(
                f"{key!r}", f"file:{context}", f"unknown setting in {path}; allowed: {allowed}"
            )
        raw[spec.name] = (value, f"file:{context}")
    for spec in SPECS:
        if spec.env in env and (env[spec.env].strip() != "" or spec.name == "brokers"):
            raw[spec.name] = (env[spec.env], "env")
    for name, value in flags.items():
        if name not in SPEC_BY_NAME:
            raise KeyError(f"unknown setting {name!r}")
        raw[name] = (value, "flag")

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in SPECS:
        value, source = raw.get(spec.name, (spec.default, "default"))
        if value is not None:
            if isinstance(value, str) and not_utf8(value):
                problem = f"is not valid UTF-8: '{printable(value)}'"
                if source == "flag" and spec.name in names:
                    raise ConfigError(names[spec.name], source, problem)
                raise ConfigError(_label(spec, source), source, problem)
            try:
                value = spec.parse(value)
            except ValueError as exc:
                if source == "flag" and spec.name in names:
                    raise ConfigError(names[spec.name], source, str(exc)) from None
                label = spec.env if source in ("env", "default") else _label(spec, source)
                raise ConfigError(label, source, str(exc)) from None
        values[spec.name] = value
        sources[spec.name] = source
    _read_password_file(values, sources)
    _check_combinations(values, sources)
    return Settings(
        **values, sources=sources, context=context, config_file=str(path) if path else None
    )


def _label(spec: SettingSpec, source: str) -> str:
    return spec.file_key if source.startswith("file:") else spec.env


def _rank(source: str) -> int:
    """How strong a source is: flag > env > config file > default."""
    if source == "flag":
        return 3
    if source == "env":
        return 2
    return 1 if source.startswith("file:") else 0


def _read_password_file(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Take the SASL password from KAFKA_SASL_PASSWORD_FILE unless a password is set as high.

    The usual precedence decides between the two (a password file in the environment beats a
    password in the config file); on the same level the password itself wins. The file's
    content is the password, leading and trailing whitespace (the final newline) removed.
    """
    path = values["sasl_password_file"]
    if path is None:
        return
    source = sources["sasl_password_file"]
    if values["sasl_password"] is not None and _rank(sources["sasl_password"]) >= _rank(source):
        return
    label = "sasl-password-file" if source.startswith("file:") else "KAFKA_SASL_PASSWORD_FILE"
    try:
        password = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(label, source, f"cannot read {path!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(label, source, f"{path!r} is not UTF-8 text") from None
    if not password:
        raise ConfigError(label, source, f"{path!r} is empty; it must hold the SASL password")
    values["sasl_password"] = password
    sources["sasl_password"] = f"{source} (password file)"


def _check_combinations(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Cross-setting rules; an idempotent producer needs acks=all."""
    if values["producer_idempotent"] and values["producer_acks"] != "all":
        if sources["producer_idempotent"] == "default":
            # acks was lowered on purpose: idempotence is off rather than an error.
            values["producer_idempotent"] = False
            sources["producer_idempotent"] = f"default (off: acks={values['producer_acks']})"
        else:
            raise ConfigError(
                "KAFKA_PRODUCER_IDEMPOTENT",
                sources["producer_idempotent"],
                f"an idempotent producer requires acks=all, but acks is "
                f"{values['producer_acks']} (from {sources['producer_acks']}); "
                "set acks=all or turn idempotence off",
            )
    if values["reconnect_backoff_min"] > values["reconnect_backoff_max"]:
        raise ConfigError(
            "KAFKA_RECONNECT_BACKOFF_MIN",
            sources["reconnect_backoff_min"],
            "must not be longer than KAFKA_RECONNECT_BACKOFF_MAX",
        )
    mechanism = values["sasl_mechanism"]
    if values["security_protocol"].startswith("SASL_"):
        if not mechanism:
            raise ConfigError(
                "KAFKA_SASL_MECHANISM",
                sources["sasl_mechanism"],
                f"required with {values['security_protocol']}; use one of "
                + ", ".join(SASL_MECHANISMS),
            )
        for name in ("sasl_username", "sasl_password"):
            if not values[name]:
                hint = " (or KAFKA_SASL_PASSWORD_FILE)" if name == "sasl_password" else ""
                raise ConfigError(
                    SPEC_BY_NAME[name].env,
                    sources[name],
                    f"required with {values['security_protocol']} ({mechanism}){hint}",
                )
