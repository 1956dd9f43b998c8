"""Whether a record fits in one produce request at all (SPEC §6: it is an invalid line if not)."""

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
