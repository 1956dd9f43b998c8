"""WorkerPool: lanes keep per-key order; different lanes run in parallel; drops are clean."""

import threading
import time

from kafkactl.consumer.dispatch import WorkerPool, lane_for


def test_same_lane_runs_in_order_one_at_a_time():
    seen: list[int] = []
    running = []
    overlap = []

    def run(item):
        running.append(item)
        if len(running) > 1:
            overlap.append(item)
        time.sleep(0.001)
        seen.append(item)
        running.remove(item)

    pool = WorkerPool(4, run)
    for i in range(50):
        pool.submit(i, lane="k")
    assert pool.wait_idle(10)
    pool.close()
    assert seen == list(range(50))
    assert overlap == []


def test_different_lanes_run_in_parallel():
    barrier = threading.Barrier(3, timeout=5)
    pool = WorkerPool(3, lambda _item: barrier.wait())
    for lane in ("a", "b", "c"):
        pool.submit(lane, lane=lane)
    assert pool.wait_idle(10), "three lanes must run at once to pass the barrier"
    pool.close()


def test_no_lane_is_fully_parallel():
    barrier = threading.Barrier(4, timeout=5)
    pool = WorkerPool(4, lambda _item: barrier.wait())
    for i in range(4):
        pool.submit(i, lane=None)
    assert pool.wait_idle(10)
    pool.close()


def test_drop_removes_only_queued_items():
    gate = threading.Event()
    done: list[str] = []

    def run(item):
        if item == "first":
            gate.wait(5)
        done.append(item)

    pool = WorkerPool(1, run)
    pool.submit("first", lane="p0")
    time.sleep(0.05)  # "first" is now running
    pool.submit("queued-p0", lane="p0")
    pool.submit("queued-p1", lane="p1")
    dropped = pool.drop(lambda item: item.endswith("p0"))
    gate.set()
    assert pool.wait_idle(5)
    pool.close()
    assert dropped == ["queued-p0"]
    assert done == ["first", "queued-p1"]


def test_a_failing_item_does_not_kill_the_worker():
    done = []

    def run(item):
        if item == 0:
            raise RuntimeError("boom")
        done.append(item)

    pool = WorkerPool(1, run)
    pool.submit(0, lane="x")
    pool.submit(1, lane="x")
    assert pool.wait_idle(5)
    pool.close()
    assert done == [1]


def test_lanes_by_ordering():
    tp = ("t", 0)
    assert lane_for("key", tp, b"k") == (tp, b"k")
    assert lane_for("key", tp, b"k") != lane_for("key", tp, b"j")
    assert lane_for("partition", tp, b"k") == lane_for("partition", tp, b"j") == tp
    assert lane_for("none", tp, b"k") is None


def test_a_base_exception_does_not_kill_the_worker():
    done = []

    def run(item):
        if item < 3:
            raise (KeyboardInterrupt, SystemExit, GeneratorExit)[item]("boom")
        done.append(item)

    pool = WorkerPool(1, run)
    for i in range(5):
        pool.submit(i, lane="x")
    assert pool.wait_idle(5)
    pool.close()
    assert done == [3, 4]


def test_close_waits_at_most_its_timeout_in_all():
    gate = threading.Event()
    pool = WorkerPool(4, lambda item: gate.wait(10))
    for i in range(4):
        pool.submit(i, lane=i)
    time.sleep(0.05)
    started = time.monotonic()
    pool.close(timeout=0.3)
    took = time.monotonic() - started
    gate.set()
    assert took < 0.8  # not 4 x 0.3s


def test_a_worker_takes_a_lanes_run_at_once_and_gives_back_what_it_did_not_start():
    gate, started = threading.Event(), threading.Event()
    taken: list[list[int]] = []
    done: list[int] = []

    def run_batch(batch: list[int]) -> int:
        taken.append(list(batch))
        if batch[0] == 0:
            started.set()
            gate.wait(5)  # items 1-5 queue up behind the first batch meanwhile
            done.append(0)
            return 1
        if len(taken) == 2:
            done.extend(batch[:2])  # runs two, gives back the rest
            return 2
        done.extend(batch)
        return len(batch)

    pool: WorkerPool[int] = WorkerPool(2, run_batch=run_batch)
    pool.submit(0, lane="k")
    assert started.wait(5)  # item 0's batch is running
    pool.submit_many((i, "k") for i in range(1, 6))
    gate.set()
    assert pool.wait_idle(5)
    pool.close()
    assert taken == [[0], [1, 2, 3, 4, 5], [3, 4, 5]]
    assert done == [0, 1, 2, 3, 4, 5]
