"""Independent pieces of the calibration (videos, pairs of videos) on a few threads, with a progress bar.

numpy releases the GIL in its heavy operations, so threads run such pieces side by side without
copying their inputs into other processes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator


def progress(items: Iterable, total: int, description: str, show: bool) -> Iterable:
    """`items` with a rich progress bar of `total` steps when `show` (and there is more than one)."""
    if not show or total < 2:
        return items
    from rich.progress import track

    return track(items, total=total, description=description)


def thread_map(function: Callable[[Any], Any], items: list, workers: int) -> Iterator[Any]:
    """`map(function, items)` on `workers` threads, results in order (numpy releases the GIL in its
    heavy operations, so independent pairs or videos run side by side)."""
    if workers <= 1 or len(items) < 2:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(function, items)
