"""Spread independent chunks of work over worker processes that start clean.

Workers come from a fork server (a small process started once, single-threaded), never from a
fork of the caller: a fork copies every lock the caller's other threads — Python's or a native
library's (BLAS, onnxruntime, coverage) — held at that instant, and a worker that needs one of them
waits forever, and so does the caller's pool shutdown. What a worker needs beyond its chunk is
handed to ``initializer`` once per worker (pickled over the pool's local pipe).
"""

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def map_in_workers(func: Callable[[Any], Any], chunks: Iterable[Any], jobs: int,
                   initializer: Callable[..., None] | None = None, initargs: tuple = ()) -> list[Any]:
    """``[func(chunk) for chunk in chunks]``, computed by ``jobs`` worker processes, in order."""
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=initializer,
                             initargs=initargs) as pool:
        return list(pool.map(func, chunks))
