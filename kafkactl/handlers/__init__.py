"""What `consume` does with each message (DESIGN §6.6): print, exec, a Python callable, or nothing.

One module per handler: `printer` (the default), `exec` (`--exec CMD`), `python`
(`--handler package.module:function`), `noop`; the contract they share is in `base`. This
module chooses one from the flags.
"""

from __future__ import annotations

from typing import BinaryIO

from kafkactl.errors import OutputClosed, UsageError
from kafkactl.handlers.base import DEFAULT_FATAL_EXIT_CODES, Handler, tail
from kafkactl.handlers.decoding import DecodingHandler
from kafkactl.handlers.exec import ExecHandler
from kafkactl.handlers.noop import NoopHandler
from kafkactl.handlers.printer import PrintHandler
from kafkactl.handlers.python import PythonHandler
from kafkactl.message import HandlerFailure
from kafkactl.print_formats import PrintFormat
from kafkactl.schemas.model import Decoder

__all__ = [
    "DEFAULT_FATAL_EXIT_CODES",
    "DecodingHandler",
    "ExecHandler",
    "Handler",
    "HandlerFailure",
    "NoopHandler",
    "OutputClosed",
    "PrintHandler",
    "PythonHandler",
    "build_handler",
    "parse_exit_codes",
    "tail",
]


def parse_exit_codes(text: str) -> set[int]:
    """`"100,101"` -> {100, 101} (an empty text is no fatal code); UsageError on bad input."""
    codes: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part and not text.strip():
            continue
        try:
            code = int(part)
        except ValueError:
            code = -1
        if not 1 <= code <= 255:
            raise UsageError(
                "--fatal-exit-codes must be comma-separated exit codes from 1 to 255, "
                f"e.g. 100,101; got {text!r}"
            )
        codes.add(code)
    return codes


def build_handler(
    exec_cmd: str | None,
    handler_spec: str | None,
    exec_timeout: float,
    fatal_exit_codes: set[int],
    stream: BinaryIO | None = None,
    print_format: PrintFormat | None = None,
    decoder: Decoder | None = None,
    decoded_stdin: bool = False,
) -> Handler:
    """The handler the flags ask for: --exec, --handler, or the printer (in `print_format`);
    with a `decoder`, wire-format records are decoded first (a `decode` failure when they
    cannot be), and `decoded_stdin` gives --exec the decoded JSON."""
    if exec_cmd is not None and handler_spec is not None:
        raise UsageError("--exec and --handler cannot be combined; choose one")
    handler: Handler
    if exec_cmd is not None:
        handler = ExecHandler(exec_cmd, exec_timeout, fatal_exit_codes, decoded_stdin=decoded_stdin)
    elif handler_spec is not None:
        handler = PythonHandler(handler_spec)
    elif print_format is not None:
        handler = PrintHandler(stream, encoder=print_format.encode, exact=not print_format.newline)
    else:
        handler = PrintHandler(stream)
    return DecodingHandler(handler, decoder) if decoder is not None else handler
