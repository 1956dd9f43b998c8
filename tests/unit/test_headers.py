"""The header codec: replace never duplicates, write-once fields stay, long text is cut."""

from kafkactl import headers as hdr


def test_replace_keeps_exactly_one_copy():
    headers = [("a", b"1"), ("kafkactl.attempt", b"1"), ("kafkactl.attempt", b"2")]
    out = hdr.replace(headers, {"kafkactl.attempt": 3})
    assert [v for k, v in out if k == "kafkactl.attempt"] == [b"3"]
    assert ("a", b"1") in out


def test_replace_with_none_removes():
    out = hdr.replace([("kafkactl.not-before", b"1")], {"kafkactl.not-before": None})
    assert hdr.get(out, "kafkactl.not-before") is None


def test_set_once_does_not_overwrite():
    out = hdr.set_once([("message-id", b"abc")], "message-id", "new")
    assert out == [("message-id", b"abc")]
    assert hdr.set_once([], "message-id", "new") == [("message-id", b"new")]


def test_get_int_and_text():
    headers = [("n", b"42"), ("bad", b"x")]
    assert hdr.get_int(headers, "n") == 42
    assert hdr.get_int(headers, "bad") is None
    assert hdr.get_int(headers, "missing") is None
    assert hdr.get_text(headers, "n") == "42"


def test_truncate_respects_utf8_boundaries():
    text = "é" * 1000  # 2 bytes each
    cut = hdr.truncate(text, 1024)
    assert len(cut.encode()) <= 1024
    assert cut.endswith("...")
    assert hdr.truncate("short", 1024) == "short"


def _failure_headers(headers, attempt, not_before, now=1000):
    return hdr.failure_headers(
        headers,
        hdr.Origin("orders", 2, 17, 555),
        "billing",
        hdr.Failure("retryable", "ValueError", "bad " * 600, "trace " * 2000),
        attempt=attempt,
        now_ms=now,
        not_before_ms=not_before,
        message_id="m-1",
    )


def test_first_failure_writes_the_schema():
    out = _failure_headers([("user", b"keep")], attempt=1, not_before=2000)
    names = [k for k, _ in out]
    assert len(names) == len(set(names)), "no header may repeat"
    assert hdr.get_text(out, "user") == "keep"
    assert hdr.get_text(out, hdr.MESSAGE_ID) == "m-1"
    assert hdr.get_text(out, hdr.ORIGINAL_TOPIC) == "orders"
    assert hdr.get_int(out, hdr.ORIGINAL_PARTITION) == 2
    assert hdr.get_int(out, hdr.ORIGINAL_OFFSET) == 17
    assert hdr.get_int(out, hdr.ORIGINAL_TIMESTAMP) == 555
    assert hdr.get_text(out, hdr.GROUP) == "billing"
    assert hdr.get_int(out, hdr.ATTEMPT) == 1
    assert hdr.get_int(out, hdr.NOT_BEFORE) == 2000
    assert hdr.get_int(out, hdr.FIRST_FAILURE) == 1000
    assert hdr.get_int(out, hdr.LAST_FAILURE) == 1000
    assert hdr.get_text(out, hdr.ERROR_KIND) == "retryable"
    assert hdr.get_text(out, hdr.ERROR_CLASS) == "ValueError"
    assert len(hdr.get(out, hdr.ERROR_MESSAGE)) <= 1024
    assert len(hdr.get(out, hdr.ERROR_TRACE)) <= 4096


def test_second_failure_keeps_origin_and_replaces_state():
    first = _failure_headers([], attempt=1, not_before=2000, now=1000)
    # The tier copy is consumed from another topic; origin must still point at the first one.
    second = hdr.failure_headers(
        first,
        hdr.Origin("orders.billing.retry.1", 0, 3, 999),
        "billing",
        hdr.Failure("fatal", "exit:100", "no"),
        attempt=2,
        now_ms=5000,
        not_before_ms=None,
        message_id="m-1",
    )
    names = [k for k, _ in second]
    assert len(names) == len(set(names))
    assert hdr.get_text(second, hdr.ORIGINAL_TOPIC) == "orders"
    assert hdr.get_int(second, hdr.ORIGINAL_OFFSET) == 17
    assert hdr.get_int(second, hdr.FIRST_FAILURE) == 1000
    assert hdr.get_int(second, hdr.LAST_FAILURE) == 5000
    assert hdr.get_int(second, hdr.ATTEMPT) == 2
    assert hdr.get(second, hdr.NOT_BEFORE) is None, "the DLQ copy has no due time"
    assert hdr.get(second, hdr.ERROR_TRACE) is None, "a failure without trace clears the old one"
    assert hdr.get_text(second, hdr.ERROR_KIND) == "fatal"


def test_normalize():
    assert hdr.normalize([("a", "x"), ("b", None), ("c", b"y")]) == [
        ("a", b"x"),
        ("b", b""),
        ("c", b"y"),
    ]


def test_get_bounded_treats_negative_absurd_and_junk_as_absent():
    for raw, expected in ((b"3", 3), (b"-5", None), (b"9" * 30, None), (b"x", None), (b"", None)):
        assert hdr.get_bounded([(hdr.ATTEMPT, raw)], hdr.ATTEMPT, 0, hdr.MAX_ATTEMPT) == expected
    assert hdr.get_bounded([], hdr.ATTEMPT, 0, 10) is None


def _state(message: str = "m" * 1024, trace: str | None = "t" * 4096):
    updates = {hdr.ERROR_MESSAGE: message, hdr.ERROR_TRACE: trace, hdr.ERROR_CLASS: "E"}
    return hdr.replace([("own", b"x"), (hdr.ATTEMPT, b"1")], updates)


def test_fit_keeps_a_copy_that_fits_unchanged():
    headers = _state()
    assert hdr.fit(b"k", b"v" * 100, headers, 1_000_000) == (headers, False)
    assert hdr.fit(b"k", b"v" * 100, headers, None) == (headers, False)


def test_fit_drops_the_trace_and_cuts_the_message_of_a_copy_too_large():
    headers = _state()
    value = b"v" * 10_000
    limit = hdr.record_size(b"k", value, headers) - 1
    out, shrunk = hdr.fit(b"k", value, headers, limit)
    assert shrunk
    assert hdr.get(out, hdr.ERROR_TRACE) is None
    assert len(hdr.get(out, hdr.ERROR_MESSAGE)) <= hdr.SHRUNK_MESSAGE_BYTES
    assert hdr.get(out, "own") == b"x" and hdr.get(out, hdr.ERROR_CLASS) == b"E"
    assert hdr.record_size(b"k", value, out) <= limit
    assert [k for k, _ in out].count(hdr.ERROR_MESSAGE) == 1


def test_record_size_is_an_upper_estimate():
    headers = [("a", b"12345")]
    assert hdr.record_size(b"k", b"v" * 10, headers) >= 1 + 10 + 1 + 5


def test_normalize_reads_a_bytes_name_as_its_bytes_never_its_repr():
    assert hdr.normalize([(b"\xff\xfe", b"v"), (b"ok", "x")]) == [
        ("\udcff\udcfe", b"v"),
        ("ok", b"x"),
    ]


def test_name_text_is_plain_text_for_json_and_tables():
    assert hdr.name_text("message-id") == "message-id"
    assert hdr.name_text("é") == "é"
    shown = hdr.name_text(b"a\xff\xfe".decode("utf-8", "surrogateescape"))
    assert shown == "a\\xff\\xfe" and shown.encode("utf-8")


def test_failure_copies_keep_a_raw_name_byte_for_byte():
    raw = b"\xff\xfe".decode("utf-8", "surrogateescape")
    out = hdr.failure_headers(
        [(raw, b"v")],
        hdr.Origin("t", 0, 1, 2),
        "g",
        hdr.Failure("retryable", "exit:1", "boom"),
        1,
        3,
        None,
        "id",
    )
    assert out[0] == (raw, b"v")
    assert hdr.record_size(None, None, out) > 0


def test_a_follower_copy_names_its_blocker_and_a_failure_or_a_replay_clears_the_mark():
    origin = hdr.Origin("orders", 2, 9, 1000)
    on_tier = hdr.follower_headers([("b", b"1")], origin, "g", "id-8", 500, 500, "orders-2-9")
    assert hdr.get_text(on_tier, hdr.FOLLOWS) == "id-8"
    assert hdr.get_int(on_tier, hdr.FOLLOWED_AT) == 500
    assert hdr.get_int(on_tier, hdr.ORIGINAL_OFFSET) == 9
    assert hdr.get(on_tier, hdr.ERROR_CLASS) is None  # it did not fail
    failed = hdr.failure_headers(
        on_tier, origin, "g", hdr.Failure("retryable", "E", "x"), 1, 600, 700, "orders-2-9"
    )
    assert hdr.get(failed, hdr.FOLLOWS) is None and hdr.get(failed, hdr.FOLLOWED_AT) is None
    # replay-dlq removes RETRY_STATE: a replayed follower runs as any record does.
    assert {hdr.FOLLOWS, hdr.FOLLOWED_AT} <= set(hdr.RETRY_STATE)
