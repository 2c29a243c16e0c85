"""vv_core.workers: worker processes never inherit a lock the caller holds."""

import threading

from vv_core.workers import map_in_workers

HELD_BY_CALLER = threading.Lock()
_given: list[int] = []


def _under_the_lock(chunk: list[int]) -> int:
    # A forked worker would inherit HELD_BY_CALLER locked and wait here forever.
    if not HELD_BY_CALLER.acquire(timeout=20):
        raise RuntimeError("worker inherited a held lock")
    try:
        return sum(chunk) + sum(_given)
    finally:
        HELD_BY_CALLER.release()


def _give(value: int) -> None:
    _given.append(value)


def test_workers_start_clean_while_another_thread_holds_a_lock():
    started, release = threading.Event(), threading.Event()

    def holder():
        with HELD_BY_CALLER:
            started.set()
            release.wait(60)

    thread = threading.Thread(target=holder)
    thread.start()
    started.wait(10)
    try:
        sums = map_in_workers(_under_the_lock, [[1, 2], [3], [4, 5, 6]], 2, _give, (100,))
    finally:
        release.set()
        thread.join()
    assert sums == [103, 103, 115]   # in order, and each worker got the initializer's value once
