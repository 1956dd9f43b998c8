"""Record filters of `consume` (--key, --header, --grep), applied before the handler.

--grep matches with RE2 (google-re2): its time is linear in the value, so no pattern and no
record can make a filter run for ever, as a backtracking engine (Python's `re`) can with
`(a+)+$` on `aaaa…b`. The price: what needs backtracking (backreferences, lookaround, atomic
groups, possessive quantifiers, conditionals) is refused when the filter is built, and `$`
matches at the very end of the value only (Python's also before a final newline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kafkactl.errors import UsageError
from kafkactl.message import Message

# What RE2 refuses that Python's `re` accepts, keyed by the end of RE2's error message.
_UNSUPPORTED = {
    "(?=": "lookahead (?=...)",
    "(?!": "negative lookahead (?!...)",
    "(?<=": "lookbehind (?<=...)",
    "(?<!": "negative lookbehind (?<!...)",
    "(?>": "an atomic group (?>...)",
    "(?(": "a conditional (?(...)...)",
    "(?P": "a named backreference (?P=name)",
    "(?#": "a comment (?#...)",
    "(?x": "verbose mode (?x)",
    "(?a": "the ASCII flag (?a) (bytes are matched as ASCII already)",
    "(?L": "the locale flag (?L)",
    "\\Z": "\\Z (write \\z for the end of the value)",
}


class Pattern(Protocol):
    """A compiled --grep pattern (an RE2 regexp)."""

    def search(self, text: bytes) -> object | None: ...


@dataclass(frozen=True)
class HeaderMatch:
    """`NAME` (present) or `NAME=VALUE` (the last value of NAME equals VALUE)."""

    name: str
    value: bytes | None = None


@dataclass(frozen=True)
class RecordFilter:
    """All given conditions must hold; an empty filter lets everything through."""

    key: bytes | None = None
    headers: tuple[HeaderMatch, ...] = ()
    grep: Pattern | None = None
    active: bool = field(default=False)

    def matches(self, message: Message) -> bool:
        """True when the message passes every condition."""
        if self.key is not None and message.key != self.key:
            return False
        for wanted in self.headers:
            found = message.header(wanted.name)
            if found is None and not any(n == wanted.name for n, _ in message.headers):
                return False
            if wanted.value is not None and found != wanted.value:
                return False
        return not (self.grep is not None and not self.grep.search(message.value or b""))


def build_filter(key: str | None, headers: Sequence[str], grep: str | None) -> RecordFilter:
    """Compile the filter flags; a bad regex is a usage error naming --grep."""
    pattern = None if grep is None else compile_grep(grep)
    matches = []
    for spec in headers:
        name, sep, value = spec.partition("=")
        if not name:
            raise UsageError(f"--header {spec!r}: give NAME or NAME=VALUE")
        matches.append(HeaderMatch(name, value.encode("utf-8", "surrogateescape") if sep else None))
    return RecordFilter(
        None if key is None else key.encode("utf-8", "surrogateescape"),
        tuple(matches),
        pattern,
        active=key is not None or bool(matches) or pattern is not None,
    )


def compile_grep(grep: str) -> Pattern:
    """--grep as an RE2 regexp over the value's bytes (Latin-1: one character per byte, as
    Python's `re` does with bytes); what RE2 cannot do is a usage error naming the construct."""
    import re2  # only when --grep is given (start-up time)

    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    options.log_errors = False  # the error is ours to report, in one line
    try:
        compiled: Pattern = re2.compile(grep.encode("utf-8", "surrogateescape"), options)
    except re2.error as exc:
        raise UsageError(_grep_error(grep, exc.args[0] if exc.args else "")) from None
    return compiled


def _grep_error(grep: str, error: bytes | str) -> str:
    """The one line for a pattern RE2 refused: the construct it lacks, or its own reason."""
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    reason, _, what = text.partition(": ")
    construct = _UNSUPPORTED.get(what)
    if what[:1] == "\\" and what[1:].isdigit():
        construct = f"a backreference {what}"
    elif reason == "bad repetition operator" and what[-2:] in ("++", "*+", "?+", "}+"):
        construct = f"a possessive quantifier {what}"
    elif reason == "invalid repetition size":
        construct = f"the repeat count {what} (at most 1000, nested counts multiplied)"
    if construct is None:
        return f"--grep: {grep!r} is not a regular expression ({text})"
    return (
        f"--grep: {grep!r} uses {construct}, which RE2 (--grep's linear-time matcher) does "
        "not support; rewrite the pattern without it"
    )
