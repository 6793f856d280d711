"""Time and peak memory of hostile XLSX uploads against the upload limits (not run in CI).

    .venv/bin/python bench/upload_limits.py [--before]

Builds the files with the builders of tests/clinics/test_tabular_safety.py and reads each in a
fresh child process through `core.tabular.read_table` (limits from config/settings.py, the
defaults unless the environment says otherwise), reporting wall time and the child's peak RSS
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`) above its start (Django loaded, file bytes in memory):

1. the issue's zip bomb: a few hundred KB whose sharedStrings part unpacks to 204 MB;
2. the issue's 100,000-row sheet (14 settlement columns of repeated values, a few hundred KB);
3. the same rows with the compression-ratio limit lifted, so the cell limit has to refuse them;
4. the largest hostile workbook the limits let through: just under XLSX_MAX_CELLS cells, each
   naming its own shared string (just under as many entries), under the unpacked-size and ratio
   limits: the worst an upload can cost now, read to the end.

With --before, files 1 and 2 are also read the way they were before the limits (openpyxl
read-only, every row), for comparison.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _child(path: str, mode: str) -> None:
    import resource

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "false")  # production's setting: benches never run with DEBUG on
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    import io

    from openpyxl import load_workbook

    from core.tabular import TableError, read_table

    data = Path(path).read_bytes()
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    outcome, rows = "read", 0
    if mode == "before":
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        rows = sum(1 for _row in sheet.iter_rows(values_only=True)) - 1
    else:
        try:
            _header, body = read_table(data, Path(path).name, [])
            rows = sum(1 for _row in body)
        except TableError as exc:
            outcome = f"refused: {exc}"
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "rows": rows, "outcome": outcome,
                      "peak_mb": peak / 1024, "above_start_mb": (peak - start_rss) / 1024}))


def measure(data: bytes, mode: str = "limits", env: dict | None = None) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as handle:
        handle.write(data)
    try:
        result = subprocess.run(
            [sys.executable, __file__, "--child", handle.name, mode], capture_output=True, text=True, check=True,
            env={**os.environ, **(env or {})},
        )
    finally:
        os.unlink(handle.name)
    return json.loads(result.stdout.strip().splitlines()[-1])


def limit_sized_xlsx(cells: int, columns: int = 14) -> bytes:
    """`cells` cells in rows of `columns`, each cell its own shared string (S000000000001 …)."""
    from tests.clinics.test_tabular_safety import _NS, SETTLEMENT_COLUMNS, _inline, workbook_bytes

    header = SETTLEMENT_COLUMNS[:columns]
    rows = cells // columns - 1

    def sheet():
        yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}><sheetData>'.encode()
        yield b'<row r="1">' + b"".join(_inline(h) for h in header) + b"</row>"
        n = 0
        for r in range(2, rows + 2):
            yield (f'<row r="{r}">' + "".join(f'<c t="s"><v>{n + j}</v></c>' for j in range(columns)) + "</row>").encode()
            n += columns
        yield b"</sheetData></worksheet>"

    def strings():
        for k in range(rows * columns):
            yield b"<si><t>S%012d</t></si>" % k

    return workbook_bytes(sheet(), strings())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("PATH", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--before", action="store_true", help="also read files 1 and 2 without the limits")
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "false")  # production's setting: benches never run with DEBUG on
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings

    from tests.clinics.test_tabular_safety import many_rows_xlsx, zip_bomb_xlsx

    limits = {name: getattr(settings, name) for name in (
        "UPLOAD_MAX_BYTES", "UPLOAD_MAX_ROWS", "XLSX_MAX_CELLS", "XLSX_MAX_UNCOMPRESSED_BYTES",
        "XLSX_MAX_COMPRESSION_RATIO", "XLSX_MAX_MEMBERS")}
    print("limits: " + ", ".join(f"{k}={v:,}" for k, v in limits.items()))
    cases = [
        ("1. zip bomb (sharedStrings unpacks to 204 MB)", zip_bomb_xlsx(204), {}),
        ("2. 100,000 rows x 14 columns, repeated values", many_rows_xlsx(100_000, dimension=False), {}),
        ("3. the same, ratio limit lifted (cells must refuse)", many_rows_xlsx(100_000, dimension=False),
         {"XLSX_MAX_COMPRESSION_RATIO": "100000"}),
        ("4. limit-sized hostile: just under XLSX_MAX_CELLS cells and shared strings",
         limit_sized_xlsx(limits["XLSX_MAX_CELLS"]), {}),
    ]
    print(f"{'file':<76} {'size':>9} {'time':>8} {'peak RSS':>9} {'+start':>8}  outcome")
    for label, data, env in cases:
        runs = [("with limits", measure(data, env=env))]
        if args.before and label[0] in "12":
            runs.append(("before (openpyxl read-only, every row)", measure(data, mode="before")))
        for how, result in runs:
            outcome = result["outcome"] if result["outcome"] != "read" else f"read {result['rows']:,} rows"
            print(f"{label + ' — ' + how:<76} {len(data) / 1024:>7,.0f}KB {result['seconds']:>7.2f}s "
                  f"{result['peak_mb']:>7,.0f}MB {result['above_start_mb']:>6,.0f}MB  {outcome[:150]}")


if __name__ == "__main__":
    main()
