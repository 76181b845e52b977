"""Pausing the cyclic garbage collector around a bounded batch of allocations."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block without cyclic collections, then restore the collector.

    Reading a large upload allocates hundreds of thousands of small, acyclic objects;
    each allocation threshold crossed would otherwise scan every live object again.
    Reference counting still frees them; anything cyclic waits for the next collection.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
