"""`audit_bulk` writes one row per target in one statement; its action and reason may be lazy
translations (as services pass them) and are stored as the site language's text."""

import pytest
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy

from core.audit import audit_bulk
from core.models import AuditEntry


@pytest.mark.django_db
def test_lazy_action_and_reason_are_stored_as_text():
    User = get_user_model()
    users = [User.objects.create(username=f"u{i}") for i in range(3)]
    written = audit_bulk(actor=None, action=gettext_lazy("Payroll"), targets=users, reason=gettext_lazy("pay run calculated"),
                         changes={"run": 1})
    assert written == 3
    rows = list(AuditEntry.objects.filter(object_id__in=[str(u.pk) for u in users]).values_list("action", "reason", "object_repr"))
    assert len(rows) == 3
    assert {(a, r) for a, r, _name in rows} == {(str(gettext_lazy("Payroll")), str(gettext_lazy("pay run calculated")))}
    assert sorted(name for _a, _r, name in rows) == sorted(str(u) for u in users)


@pytest.mark.django_db
def test_pairs_need_no_instances_and_nothing_is_written_for_none():
    User = get_user_model()
    assert audit_bulk(actor=None, action="x.y", targets=[], model=User) == 0
    assert audit_bulk(actor=None, action="x.y", targets=[(99, "九十九")], model=User, reason="测试") == 1
    assert AuditEntry.objects.get(object_id="99").object_repr == "九十九"
