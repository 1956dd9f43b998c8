"""How the print handler writes a record: the envelope, the value, key and value, or a template.

Templates follow kcat's `-f` (same bytes for the same fields): `{topic}`, `{partition}`,
`{offset}`, `{ts}`, `{key}`, `{value}`, `{headers}` (`n=v` comma-separated, like kcat's `%h`),
`{header:NAME}` (the last value of NAME), `{key_size}`/`{value_size}` (-1 for null), escapes
`\\t`, `\\n`, `\\r`, `\\\\` and `\\xNN`, and `{{`/`}}` for braces. A template writes exactly what
it says, with no newline added; the other formats end each record with a newline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from kafkactl.errors import UsageError
from kafkactl.kafka.ports import header_name_bytes
from kafkactl.message import Message
from kafkactl.schemas.documents import document_text

Encoder = Callable[[Message], bytes]
FIELDS = ("topic", "partition", "offset", "ts", "key", "value", "headers", "key_size", "value_size")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|\\x[0-9A-Fa-f]{2}|\\.|[{}]|[^{}\\]+|\\", re.S)
_ESCAPES = {"\\n": b"\n", "\\t": b"\t", "\\r": b"\r", "\\\\": b"\\"}


@dataclass(frozen=True)
class PrintFormat:
    """A compiled `--format`: the encoder, and whether it ends records with a newline itself."""

    encode: Encoder
    newline: bool


def value_bytes(message: Message) -> bytes | None:
    """The value as printed: its decoded document as JSON when it was in the schema
    registry's wire format, else its bytes."""
    if message.decoded_value is not None:
        return document_text(message.decoded_value.document)
    return message.value


def key_bytes(message: Message) -> bytes | None:
    """The key as printed (a decoded key as text: a string as itself, else JSON)."""
    if message.decoded_key is not None:
        return document_text(message.decoded_key.document)
    return message.key


def _field(name: str) -> Encoder:
    if name.startswith("header:") and name[7:]:
        wanted = name[7:]

        def header(m: Message) -> bytes:
            value = m.header(wanted)
            return value if value is not None else b""

        return header
    getters: dict[str, Encoder] = {
        "topic": lambda m: m.topic.encode(),
        "partition": lambda m: str(m.partition).encode(),
        "offset": lambda m: str(m.offset).encode(),
        "ts": lambda m: str(m.timestamp).encode(),
        "key": lambda m: key_bytes(m) or b"",
        "value": lambda m: value_bytes(m) or b"",
        "key_size": lambda m: str(-1 if m.key is None else len(m.key)).encode(),
        "value_size": lambda m: str(-1 if m.value is None else len(m.value)).encode(),
        # A name's exact bytes, as kcat prints them (names that are not UTF-8 included).
        "headers": lambda m: b",".join(
            header_name_bytes(n) + b"=" + (v or b"") for n, v in m.headers
        ),
    }
    if name not in getters:
        raise UsageError(
            f"--format: unknown field {{{name}}}; use "
            + ", ".join(f"{{{f}}}" for f in FIELDS)
            + ", {header:NAME}"
        )
    return getters[name]


def _hex_escape(template: str, match: re.Match[str]) -> bytes:
    """The byte of a `\\xNN` escape; a usage error naming the escape when it is not one."""
    token = match.group(0)
    if len(token) == 4:
        return bytes([int(token[2:], 16)])
    written = "".join(
        c if c.isprintable() else repr(c)[1:-1] for c in template[match.start() : match.end() + 2]
    )
    raise UsageError(
        f"--format: bad escape '{written}' at character "
        f"{match.start() + 1}: \\x takes two hex digits (\\x41 is 'A'); write \\\\ for a "
        "backslash"
    )


def compile_template(template: str) -> Encoder:
    """An encoder for a kcat-style template; an unknown field is a usage error."""
    parts: list[bytes | Encoder] = []
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0].encode())
        elif match.group(1) is not None:
            parts.append(_field(match.group(1)))
        elif token in ("{", "}"):
            raise UsageError(f"--format: unmatched {token!r} (write {token * 2} for a brace)")
        elif token.startswith("\\x"):
            parts.append(_hex_escape(template, match))
        elif token.startswith("\\"):
            parts.append(_ESCAPES.get(token, token.encode("utf-8", "surrogateescape")))
        else:
            parts.append(token.encode("utf-8", "surrogateescape"))
    merged: list[bytes | Encoder] = []
    for part in parts:  # join adjacent literals once, not per record
        if isinstance(part, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] += part
        else:
            merged.append(part)
    pieces = tuple(merged)

    def encode(message: Message) -> bytes:
        return b"".join(p if isinstance(p, bytes) else p(message) for p in pieces)

    return encode


def print_format(spec: str, key_delimiter: str | None = None) -> PrintFormat | None:
    """The compiled `--format` (None: the default envelope, which the print handler owns)."""
    if spec == "envelope":
        if key_delimiter is not None:
            raise UsageError("-K/--key-delimiter goes with --format key-value")
        return None
    if spec == "value":
        return PrintFormat(lambda m: (value_bytes(m) or b"") + b"\n", newline=True)
    if spec == "key-value":
        delimiter = (key_delimiter if key_delimiter is not None else "\t").encode(
            "utf-8", "surrogateescape"
        )
        return PrintFormat(
            lambda m: (key_bytes(m) or b"") + delimiter + (value_bytes(m) or b"") + b"\n",
            newline=True,
        )
    if "{" in spec or "\\" in spec:
        return PrintFormat(compile_template(spec), newline=False)
    raise UsageError(
        f"--format {spec!r}: use envelope, value, key-value, or a template like "
        "'{key}\\t{value}\\n'"
    )
