"""Untrusted text made safe for a terminal: every control character as a visible escape.

Keys, headers, error text and topic names come from records anyone can write. Written raw to a
terminal, ESC/CSI/OSC sequences (`\\x1b[2J`, `\\x1b]0;title\\x07`), C1 controls (`\\x9b` is CSI
too), carriage returns and bidirectional overrides can clear the screen, retitle the window or
disguise a line. `safe_for_terminal` shows each as `\\x1b`, `\\x9b`, `\\u202e` (repr style) and
leaves the rest alone. One place applies it to everything shown on stderr: the Rich console of
`render` (every table, live view and message) and the pretty log sink of `log`. JSON output and
the data consume writes to stdout are exact and never go through it.

No Rich import here: `log` (a core module) uses it too.
"""

from __future__ import annotations

import re

# C0 (but tab and newline, which `keep_lines` allows), DEL, C1, the bidirectional marks,
# embeddings, overrides and isolates, the Unicode line and paragraph separators, and lone
# surrogates (bytes that were not UTF-8, decoded with surrogateescape).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
_UNSAFE_LINE = re.compile(_UNSAFE.pattern[:-1] + "\t\n]")


_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _shown(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_for_terminal(text: str, keep_lines: bool = False) -> str:
    """`text` with every control character shown as a visible escape (`\\x1b`, `\\u202e`);
    `keep_lines` lets newlines and tabs through (a table cell or a block of several lines)."""
    pattern = _UNSAFE if keep_lines else _UNSAFE_LINE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_shown, text)
