"""Pausing the cyclic garbage collector around work that makes many lasting objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (processes forked meanwhile inherit the pause).

    Parsed pages, the merged catalog and its JSON form are hundreds of thousands of small
    objects without cycles, kept to the end: as they pile up, each full collection rescans
    all of them again, for nothing (three quarters of the time of ``catalog_to_dict``, some 5% of
    the parse). Reference counting still frees everything else at once."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
