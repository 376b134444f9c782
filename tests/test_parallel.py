"""output.parallel: this process reads from the front, workers from the back; failures
in a worker surface here, and no worker outlives the map."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from iam_catalog.output.parallel import WorkerError, map_from_both_ends

ITEMS = list(range(30))


def _pid(item: int) -> tuple[int, int]:
    time.sleep(0.01)  # long enough that the workers start before this process is done
    return item, os.getpid()


# The last chunk is the first a worker claims, long before this process (which sleeps on
# each item) gets there; only a worker fails, so that a slow start fails the test, never
# this process.
_HERE = os.getpid()


def _fails_on_the_last(item: int) -> int:
    if item == ITEMS[-1] and os.getpid() != _HERE:
        raise ValueError(f"item {item} is bad")
    time.sleep(0.01)
    return item


class _Unpicklable(Exception):
    def __init__(self, item: int, lock: object) -> None:
        super().__init__(item)
        self.lock = lock  # a lock does not pickle


def _fails_unpicklably(item: int) -> int:
    if item == ITEMS[-1] and os.getpid() != _HERE:
        raise _Unpicklable(item, multiprocessing.Lock())
    time.sleep(0.01)
    return item


def _dies_on_the_last(item: int) -> int:
    if item == ITEMS[-1] and os.getpid() != _HERE:
        os._exit(3)
    time.sleep(0.01)
    return item


def test_every_item_is_read_once_here_from_the_front_and_by_workers_from_the_back() -> None:
    got = list(map_from_both_ends(_pid, ITEMS, workers=2, chunk=2))
    assert sorted(i for i, _ in got) == ITEMS
    assert all(item == i for i, (item, _) in got)
    here = sorted(i for i, (_, pid) in got if pid == os.getpid())
    there = sorted(i for i, (_, pid) in got if pid != os.getpid())
    assert here[0] == 0 and there[-1] == ITEMS[-1] and here[-1] < there[0]
    assert len({pid for _, (_, pid) in got}) == 3  # here and two workers
    assert multiprocessing.active_children() == []


def test_an_exception_in_a_worker_is_raised_here_with_the_worker_traceback() -> None:
    with pytest.raises(ValueError, match="item 29 is bad") as raised:
        list(map_from_both_ends(_fails_on_the_last, ITEMS, workers=1, chunk=3))
    cause = raised.value.__cause__
    assert isinstance(cause, WorkerError)
    assert "Traceback" in str(cause) and "_fails_on_the_last" in str(cause)
    assert multiprocessing.active_children() == []


def test_an_exception_that_does_not_pickle_comes_back_as_its_text() -> None:
    with pytest.raises(WorkerError, match=r"_Unpicklable: 29"):
        list(map_from_both_ends(_fails_unpicklably, ITEMS, workers=1, chunk=3))


def test_a_worker_that_dies_is_an_error_naming_its_exit_code() -> None:
    with pytest.raises(WorkerError, match=r"ended \(exit code 3\) before its work was done"):
        list(map_from_both_ends(_dies_on_the_last, ITEMS, workers=1, chunk=3))
    assert multiprocessing.active_children() == []


def test_closing_the_map_early_stops_the_workers() -> None:
    results = map_from_both_ends(_pid, ITEMS, workers=2, chunk=1)
    assert next(results)[0] == 0
    assert len(multiprocessing.active_children()) == 2
    results.close()
    assert multiprocessing.active_children() == []


def test_no_workers_or_empty_chunks_are_errors() -> None:
    for workers, chunk in ((0, 1), (1, 0)):
        with pytest.raises(ValueError, match="need at least one worker"):
            list(map_from_both_ends(_pid, ITEMS, workers=workers, chunk=chunk))
