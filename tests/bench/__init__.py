"""`make bench`: prints speed and memory figures and ratios, measured in one run.

Each section is a module ``tests.bench.bench_<name>`` with ``run(corpus: Path) -> None``
that prints its own lines. Timings are wall-clock medians over a few repeats;
peak memory is the child process's max RSS.
"""
