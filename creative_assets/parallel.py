"""Per-unit work on threads, results in unit order. Pure: no Dagster.

The CPU-bound stages (stage_registry ``cpu_bound``) build the units of a batched step at once on
``settings.cpu_workers()`` threads: Pillow, NumPy and OpenCV release the GIL in their pixel loops
(resampling, blurs, compositing, encoders, template matching), so two threads keep two cores busy.
FreeType and HarfBuzz calls keep the GIL, so the shared font objects are never used by two threads
at once. Each unit's value depends only on its own inputs: the bytes are those of a serial run
(``test_parallel_units``). The benchmark's floor (bench/floor.py) uses the same function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

R = TypeVar("R")


def in_unit_order(keys: Sequence[str], work: Callable[[str], R], workers: int) -> Iterator[tuple[str, R]]:
    """``(key, work(key))`` in the order of ``keys``, computed on up to ``workers`` threads. A failure
    is raised at its unit's turn; units not started by then are cancelled."""
    if workers <= 1 or len(keys) <= 1:
        for key in keys:
            yield key, work(key)
        return
    pool = ThreadPoolExecutor(max_workers=min(workers, len(keys)), thread_name_prefix="unit")
    try:
        futures = [pool.submit(work, key) for key in keys]
        for key, future in zip(keys, futures, strict=True):
            yield key, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
