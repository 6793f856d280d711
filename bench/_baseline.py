"""Honest baselines measured in the same run as the work, interleaved with it (the machine's speed
varies, so only ratios taken side by side count).

`copy_baseline` is the floor of a bulk write: the same rows COPYed into an ordinary, committed
table of the same columns, with no index, no constraint, no trigger. `interleave` alternates the
work and its baseline and `report` prints min and median of each and the ratio of the medians."""

import statistics
import time


def copy_baseline(*, columns: list[tuple[str, str]], rows: list[tuple]) -> float:
    """Seconds to create a plain table of `columns` ((name, SQL type)), COPY `rows` into it from
    Python (psycopg formats them, as the code under test does) and commit. The table is dropped
    afterwards, outside the timing."""
    from django.db import connection, transaction

    table = "bench_copy_baseline"
    column_sql = ", ".join(f"{name} {kind}" for name, kind in columns)
    names = ", ".join(name for name, _ in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {table} ({column_sql})")
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")
    return elapsed


def interleave(work, baseline, *, repeat: int) -> tuple[list[float], list[float]]:
    """Run work() then baseline() `repeat` times; each returns its seconds (or a figure)."""
    works, bases = [], []
    for _ in range(repeat):
        works.append(work())
        bases.append(baseline())
    return works, bases


def report(label: str, works: list[float], bases: list[float], *, unit: str = "s", higher_is_better: bool = False) -> float:
    """Print min and median of the work and of its baseline and return the ratio of the medians
    (work over baseline; baseline over work when higher is better, e.g. requests/s)."""
    w, b = statistics.median(works), statistics.median(bases)
    ratio = (b / w) if higher_is_better else (w / b)
    best = max if higher_is_better else min
    print(
        f"{label}: median {w:.3f} {unit} (best {best(works):.3f}) | baseline median {b:.3f} {unit} "
        f"(best {best(bases):.3f}) | ratio {ratio:.1f}× over {len(works)} interleaved runs"
    )
    return ratio
