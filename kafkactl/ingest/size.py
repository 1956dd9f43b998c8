"""Whether a record fits in one produce request at all (an invalid line if not: DESIGN §5.3)."""

from __future__ import annotations

# Bytes a record takes in a request beyond its key, value and header bytes: the record
# batch header (61) and the record's own framing (varints, at most 36), and per header two
# length varints (at most 10). A record whose total is over the producer's max request size
# can never be sent.
RECORD_FRAMING_BYTES = 61 + 36
HEADER_FRAMING_BYTES = 10


def record_too_large(
    key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]], limit: int
) -> str | None:
    """Why a record is over the producer's max request size (it can never be sent), or
    None when it fits."""
    header_bytes = sum(
        HEADER_FRAMING_BYTES + len(name.encode("utf-8", "surrogateescape")) + len(data)
        for name, data in headers
    )
    key_bytes = len(key) if key else 0
    value_bytes = len(value) if value is not None else 0
    total = key_bytes + value_bytes + header_bytes + RECORD_FRAMING_BYTES
    if total <= limit:
        return None
    return (
        f"record too large: {total:,} bytes (key {key_bytes:,}, value {value_bytes:,}, "
        f"headers {header_bytes:,}, framing {RECORD_FRAMING_BYTES}); the producer sends at "
        f"most {limit:,} bytes per record (its max request size)"
    )


def line_limit(max_record: int | None, fmt: str) -> int | None:
    """The longest input line (newline excluded) that can still become a record the producer
    can send, or None when the producer does not say how large a record may be.

    A raw line is the record (key, delimiter, value). A JSON or envelope line spells the record
    out, base64 or escapes included: it may take up to twice the record's bytes.
    """
    if max_record is None:
        return None
    return max_record if fmt == "raw" else 2 * max_record


def line_too_long(length: int, ended: bool, limit: int, max_record: int | None) -> str:
    """Why a line over `limit` bytes is invalid (one line, for the log and the reject file)."""
    from kafkactl.ingest.reading import GIVE_UP_BYTES, KEPT_BYTES

    what = (
        f"record too large: a line of {length:,} bytes"
        if ended
        else f"line too long: no end of line in its first {GIVE_UP_BYTES:,} bytes"
    )
    record = f" (the producer sends at most {max_record:,} bytes per record)" if max_record else ""
    return (
        f"{what}, over the {limit:,} bytes a line may have{record}; read in chunks and "
        f"dropped, only its first {KEPT_BYTES:,} bytes kept"
    )
