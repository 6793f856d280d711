"""Building settlement rows and files for the tests."""

import datetime
import threading
from decimal import Decimal

from django.db import connections

from clinics.settlements.rules import FIELDS
from clinics.settlements.services import settlements_import
from core.tabular import csv_text, xlsx_bytes

DAY = datetime.date(2026, 10, 12)


def row(facility, n: int = 1, **overrides) -> dict:
    """A valid outpatient settlement of `facility`: 50.00 = 40.00 funds + 2.00 account + 8.00 cash."""
    values = {
        "setl_id": f"S{facility.code[-6:]}{n:06d}",
        "mdtrt_id": f"M{n:08d}",
        "psn_no": f"P{n:08d}",
        "psn_name": "测试患者",
        "certno": "451028198506150012",
        "insutype": "390",
        "clr_type": "11",
        "medfee_sumamt": "50.00",
        "fund_pay_sumamt": "40.00",
        "hifp_pay": "35.00",
        "maf_pay": "5.00",
        "acct_pay": "2.00",
        "psn_cash_pay": "8.00",
        "setl_time": f"{DAY:%Y-%m-%d} 09:{n % 60:02d}:00",
        "fixmedins_code": facility.code,
        "atddr_no": "D00000001",
        "init_setl_id": "",
    }
    values.update({k: (str(v) if isinstance(v, Decimal) else v) for k, v in overrides.items()})
    return values


def numbered(rows: list[dict]) -> list[tuple[int, dict]]:
    return [(i, r) for i, r in enumerate(rows, start=2)]


def csv_bytes(rows: list[dict]) -> bytes:
    return csv_text(FIELDS, [[r.get(f, "") for f in FIELDS] for r in rows]).encode("utf-8")


def xlsx_file(rows: list[dict]) -> bytes:
    return xlsx_bytes(FIELDS, [[r.get(f, "") for f in FIELDS] for r in rows])


def upload_at_once(files: list[bytes], user) -> list:
    """Upload each file from its own thread (own connection), all released together; returns the
    batches and fails the test on any error."""
    barrier, batches, errors = threading.Barrier(len(files)), [], []

    def upload(data):
        try:
            barrier.wait()
            batches.append(settlements_import(source="upload", acting_user=user, data=data, filename="part.csv"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upload, args=(data,)) for data in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [], errors
    return batches
