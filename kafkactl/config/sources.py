"""Where each setting comes from: flag > environment > config-file context > default.

Finds and reads the TOML config file and its context, takes each value from the strongest
source, parses it with its spec, and labels errors with the setting's name as that source
spells it (the flag, the environment variable, or the config-file key).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkactl.config.files import BOM, read_small_file
from kafkactl.config.rules import check_combinations
from kafkactl.config.settings import Settings
from kafkactl.config.specs import SPEC_BY_FILE_KEY, SPEC_BY_NAME, SPECS, SettingSpec
from kafkactl.errors import ConfigError
from kafkactl.units import not_utf8, printable


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


def _read_utf8(path: Path, how: str) -> str:
    """The file's text (a UTF-8 byte order mark dropped); a ConfigError naming what the path
    is when it is no small regular file, or the line (and its setting) that is not UTF-8."""
    try:
        data = read_small_file(path).removeprefix(BOM)
    except ValueError as exc:
        raise ConfigError("config file", how, f"{str(path)!r} {exc}") from None
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
        data = tomllib.loads(_read_utf8(path, how))
    except RecursionError:
        raise ConfigError(
            "config file", str(path), "nests arrays or tables too deeply to read; flatten it"
        ) from None
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
    check_combinations(values, sources)
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
    """Take the SASL password from KAFKA_SASL_PASSWORD_FILE and the OIDC client secret from
    KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE, unless the value itself is set as high.

    The usual precedence decides between the two (a password file in the environment beats a
    password in the config file); on the same level the value itself wins. The file's content
    is the secret, leading and trailing whitespace (the final newline) removed.
    """
    _read_secret_file(values, sources, "sasl_password", "SASL password")
    _read_secret_file(values, sources, "sasl_oauth_client_secret", "OIDC client secret")


def _read_secret_file(
    values: dict[str, Any], sources: dict[str, str], name: str, what: str
) -> None:
    """Read `<name>_file` into `name` when the file is set higher than the value itself."""
    path = values[f"{name}_file"]
    if path is None:
        return
    source = sources[f"{name}_file"]
    if values[name] is not None and _rank(sources[name]) >= _rank(source):
        return
    spec = SPEC_BY_NAME[f"{name}_file"]
    label = spec.file_key if source.startswith("file:") else spec.env
    try:
        kind = "password files" if name == "sasl_password" else "secret files"
        secret = read_small_file(path, kind).decode("utf-8").strip()
    except OSError as exc:
        raise ConfigError(label, source, f"cannot read {path!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(label, source, f"{path!r} is not UTF-8 text") from None
    except ValueError as exc:
        raise ConfigError(label, source, f"{path!r} {exc}") from None
    if not secret:
        raise ConfigError(label, source, f"{path!r} is empty; it must hold the {what}")
    values[name] = secret
    sources[name] = f"{source} ({kind[:-1]})"
