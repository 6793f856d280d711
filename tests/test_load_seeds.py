import datetime
import io
import re
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.utils import translation

pytestmark = pytest.mark.django_db

# "演示乡村医生：新建 176，已有 0" (zh-hans, the default) or "demo village doctors: 176 created, 0 already present"
COUNT_LINE = re.compile(r"^(?P<what>.+?)[：:]\s*(?:新建 (?P<zh>\d+)，已有 \d+|(?P<en>\d+) created, \d+ already present)$")


def created_counts(output: str) -> dict[str, int]:
    found = {}
    for line in output.splitlines():
        match = COUNT_LINE.match(line.strip())
        if match:
            found[match["what"]] = int(match["zh"] or match["en"])
    return found


def test_load_seeds_twice_creates_everything_once_and_prints_demo_logins(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    first = io.StringIO()
    second = io.StringIO()
    # --today names the day; the clock is set to it too, as the booking service checks slots against now
    with time_machine.travel(datetime.datetime(2026, 11, 20, 9, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")), tick=False):
        call_command("load_seeds", "--today", "2026-11-20", stdout=first)
        with translation.override("en"):
            call_command("load_seeds", "--quiet-logins", "--today", "2026-11-20", stdout=second)

    output = first.getvalue()
    assert created_counts(output)["演示乡村医生"] == 176
    assert created_counts(output)["演示工资批次"] == 1
    assert "演示数据按 2026-11-20 生成" in output
    assert "village_doctor" in output and "county_admin" in output and "演示账号（密码：" in output
    again = created_counts(second.getvalue())
    assert again["demo village doctors"] == 0 and "Demo built as of 2026-11-20" in second.getvalue()  # English is there too
    assert {what: n for what, n in again.items() if n} == {}
