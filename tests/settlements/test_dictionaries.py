"""The platform's code dictionaries: the shipped tables as the shared document lists them, the
read API ingest uses (`clinics.settlements.dictionaries`), and their upkeep in admin."""

import re
from pathlib import Path

import pytest

from clinics.settlements import dictionaries
from clinics.settlements.models import PlatformCode
from clinics.settlements.platform_codes import SHIPPED, ensure_shipped, seed_platform_codes

pytestmark = pytest.mark.django_db

DOCUMENT = Path(__file__).resolve().parents[3] / "shared" / "docs" / "insurance-platform.md"
EXPECTED_COUNTS = {
    "insutype": 14, "med_type": 11, "clr_type": 4, "clr_way": 6, "psn_type": 24, "psn_cert_type": 19,
    "mdtrt_cert_type": 3, "psn_setlway": 2,
}


def stored(dictionary: str) -> dict[str, str]:
    return dict(PlatformCode.objects.filter(dictionary=dictionary).values_list("code", "name"))


def test_the_migration_loads_every_shipped_dictionary_with_the_documents_counts():
    assert {key: PlatformCode.objects.filter(dictionary=key).count() for key in EXPECTED_COUNTS} == EXPECTED_COUNTS
    assert PlatformCode.objects.filter(enabled=True, local=False).count() == sum(EXPECTED_COUNTS.values())
    assert stored("clr_type") == {"11": "门诊", "21": "住院", "41": "药店购药", "99": "其他"}
    assert stored("insutype")["390"] == "城乡居民基本医疗保险"
    assert stored("insutype")["310"] == "职工基本医疗保险"
    assert stored("med_type")["14"] == "门诊慢特病"
    assert stored("psn_type")["1360"] == "地方其他扩展人员"
    assert stored("psn_cert_type")["90"] == "社会保障卡"
    assert stored("clr_way")["05"] == "DRGs点数法"
    # Other provinces' extras are not shipped (§3b: do NOT assume for Guangxi).
    assert not {"15", "19", "2101", "9901", "71"} & set(stored("med_type"))
    assert "990201" not in stored("psn_cert_type") and "04" not in stored("mdtrt_cert_type")
    # Each dictionary records the document's source key.
    assert set(PlatformCode.objects.filter(dictionary="psn_type").values_list("source", flat=True)) == {
        "§3d: NT EnumDB.cs EnumRylb"
    }


def _document_table(section: str) -> dict[str, str]:
    """Code → name pairs of one §3 table of the shared document (two-column layouts too)."""
    text = DOCUMENT.read_text(encoding="utf-8")
    body = text.split(f"### {section}", 1)[1].split("\n### ", 1)[0]
    body = body.split("Province-specific", 1)[0]
    pairs = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        for code, name in zip(cells[0::2], cells[1::2], strict=False):
            if re.fullmatch(r"[0-9]{2,6}", code) and name:
                pairs[code] = re.sub(r"\s*\((?:X3|IT|X3, IT)\)$", "", name)
    return pairs


@pytest.mark.skipif(not DOCUMENT.exists(), reason="the shared platform document is not beside the checkout")
@pytest.mark.parametrize(
    ("section", "dictionary"),
    [("3a.", "insutype"), ("3b.", "med_type"), ("3d.", "psn_type"), ("3e.", "psn_cert_type")],
)
def test_loaded_codes_equal_the_shared_documents_tables(section, dictionary):
    assert stored(dictionary) == _document_table(section)


def test_codes_are_the_enabled_codes_and_disabling_one_drops_it_at_once():
    assert dictionaries.codes("clr_type") == frozenset({"11", "21", "41", "99"})
    PlatformCode.objects.filter(dictionary="clr_type", code="99").update(enabled=False)
    assert dictionaries.codes("clr_type") == frozenset({"11", "21", "41"})
    assert dictionaries.load().codes("clr_type") == frozenset({"11", "21", "41"})
    # A disabled code keeps its name for what was recorded with it.
    assert dictionaries.code_name("clr_type", "99") == "其他"
    assert dictionaries.names("clr_type")["99"] == "其他"


def test_load_reads_every_dictionary_in_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        snapshot = dictionaries.load()
    assert {field: len(snapshot.codes(field)) for field in dictionaries.DICTIONARY_FIELDS} == {
        field: EXPECTED_COUNTS[key] for field, key in dictionaries.DICTIONARY_FIELDS.items()
    }
    assert snapshot.is_known("insutype", "３９０")  # full-width digits from an input method
    assert not snapshot.is_known("insutype", "999")
    assert snapshot.code_name("med_type", "11") == "普通门诊"


def test_the_upload_fields_and_their_labels():
    assert dictionaries.DICTIONARY_FIELDS == {
        "insutype": "insutype", "med_type": "med_type", "clr_type": "clr_type", "psn_type": "psn_type",
        "clr_way": "clr_way", "psn_cert_type": "psn_cert_type",
    }
    assert all(dictionaries.dictionary_label(field) for field in dictionaries.DICTIONARY_FIELDS)
    assert dictionaries.code_display("clr_type", "11") == "11 门诊"
    assert dictionaries.code_display("clr_type", "77") == "77"
    with pytest.raises(KeyError):
        dictionaries.codes("psn_name")


def test_seeding_adds_only_what_is_missing_and_keeps_an_admins_edit():
    PlatformCode.objects.filter(dictionary="med_type", code="11").update(name="门诊统筹（广西）", enabled=False)
    PlatformCode.objects.filter(dictionary="med_type", code="12").delete()
    counts = {}
    seed_platform_codes(counts)
    assert counts["platformcode"] == {"created": 1, "existing": sum(EXPECTED_COUNTS.values()) - 1}
    edited = PlatformCode.objects.get(dictionary="med_type", code="11")
    assert (edited.name, edited.enabled) == ("门诊统筹（广西）", False)
    assert ensure_shipped(PlatformCode) == (0, sum(EXPECTED_COUNTS.values()))
    assert sum(len(codes) for _source, codes in SHIPPED.values()) == PlatformCode.objects.count()


# --- Upkeep in admin -----------------------------------------------------------------------

CHANGELIST = "/admin/settlements/platformcode/"


def _form(entry: PlatformCode, **changes) -> dict:
    data = {"name": entry.name, "enabled": "on" if entry.enabled else "", "source": entry.source, "note": entry.note}
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_changelist_filters_by_dictionary_and_searches_code_and_name(client, clerk):
    client.force_login(clerk)
    page = client.get(CHANGELIST, {"dictionary__exact": "clr_type"})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list.values_list("code", flat=True)) == ["11", "21", "41", "99"]
    found = client.get(CHANGELIST, {"q": "门诊慢特病"})
    assert [(e.dictionary, e.code) for e in found.context["cl"].result_list] == [("med_type", "14")]


def test_an_admin_edit_is_audited_and_disabling_drops_the_code_from_codes(client, county_admin):
    from core.models import AuditEntry

    entry = PlatformCode.objects.get(dictionary="med_type", code="13")
    client.force_login(county_admin)
    answer = client.post(f"{CHANGELIST}{entry.pk}/change/", _form(entry, enabled="", note="广西未开通"))
    assert answer.status_code == 302
    entry.refresh_from_db()
    assert (entry.enabled, entry.note) == (False, "广西未开通")
    assert "13" not in dictionaries.codes("med_type")
    audit = AuditEntry.objects.get(action="platform_code.update", object_id=str(entry.pk))
    assert audit.actor == county_admin
    assert audit.changes == {"enabled": [True, False], "note": ["", "广西未开通"]}


def test_a_local_code_added_in_admin_is_accepted_by_codes_and_audited(client, clerk):
    from core.models import AuditEntry

    client.force_login(clerk)  # the insurance clerk is county-wide
    answer = client.post(f"{CHANGELIST}add/", {
        "dictionary": "med_type", "code": "９９０１", "name": "门诊两病（广西）", "enabled": "on", "source": "桂医保办〔2026〕1号",
    })
    assert answer.status_code == 302
    entry = PlatformCode.objects.get(dictionary="med_type", code="9901")  # full-width digits stored as ASCII
    assert entry.local and entry.enabled
    assert "9901" in dictionaries.codes("med_type")
    assert AuditEntry.objects.filter(action="platform_code.create", object_id=str(entry.pk)).exists()
    twice = client.post(f"{CHANGELIST}add/", {"dictionary": "med_type", "code": "9901", "name": "again", "enabled": "on"})
    assert twice.status_code == 200 and PlatformCode.objects.filter(code="9901").count() == 1


def test_the_code_and_dictionary_of_a_stored_code_do_not_change(client, county_admin):
    entry = PlatformCode.objects.get(dictionary="clr_type", code="41")
    client.force_login(county_admin)
    client.post(f"{CHANGELIST}{entry.pk}/change/", {**_form(entry), "code": "42", "dictionary": "insutype"})
    entry.refresh_from_db()
    assert (entry.dictionary, entry.code) == ("clr_type", "41")


def test_a_township_admin_reads_the_dictionaries_but_cannot_edit_them(client, clinic, roles):
    from clinics.models import Role
    from tests.factories import make_user

    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=clinic.township)
    entry = PlatformCode.objects.get(dictionary="insutype", code="390")
    client.force_login(township_admin)
    assert client.get(CHANGELIST).status_code == 200
    client.post(f"{CHANGELIST}{entry.pk}/change/", _form(entry, name="改了"))
    assert client.post(f"{CHANGELIST}add/", {"dictionary": "insutype", "code": "999", "name": "x"}).status_code == 403
    entry.refresh_from_db()
    assert entry.name == "城乡居民基本医疗保险"
    assert not PlatformCode.objects.filter(code="999").exists()


def test_the_service_refuses_a_role_that_is_not_county_wide(clinic, roles):
    from django.core.exceptions import ValidationError

    from clinics.models import Role
    from clinics.settlements.services.dictionaries import platform_code_save
    from tests.factories import make_user

    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=clinic.township)
    entry = PlatformCode.objects.get(dictionary="insutype", code="310")
    with pytest.raises(ValidationError):
        platform_code_save(entry=entry, acting_user=township_admin, enabled=False)
    assert PlatformCode.objects.get(pk=entry.pk).enabled


def test_deleting_a_shipped_or_used_code_is_refused_and_an_unused_local_one_is_deleted(client, county_admin, clinic):
    import datetime

    from clinics.settlements.models import SettlementMonthStat
    from core.models import AuditEntry

    client.force_login(county_admin)
    shipped = PlatformCode.objects.get(dictionary="clr_type", code="99")
    answer = client.post(f"{CHANGELIST}{shipped.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302 and PlatformCode.objects.filter(pk=shipped.pk).exists()

    used = PlatformCode.objects.create(dictionary="clr_type", code="31", name="门诊统筹", local=True)
    SettlementMonthStat.objects.create(facility=clinic, month=datetime.date(2026, 10, 1), insutype="390", clr_type="31")
    answer = client.post(f"{CHANGELIST}{used.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302 and PlatformCode.objects.filter(pk=used.pk).exists()

    mistake = PlatformCode.objects.create(dictionary="psn_type", code="1701", name="城乡居民", local=True)
    answer = client.post(f"{CHANGELIST}{mistake.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302 and not PlatformCode.objects.filter(pk=mistake.pk).exists()
    assert AuditEntry.objects.filter(action="platform_code.delete", object_id=str(mistake.pk)).count() == 1
    assert "delete_selected" not in client.get(CHANGELIST).content.decode()


def test_a_malformed_code_is_refused_with_its_code():
    from django.core.exceptions import ValidationError

    entry = PlatformCode(dictionary="med_type", code="门诊", name="x")
    with pytest.raises(ValidationError) as refused:
        entry.full_clean()
    assert [e.code for e in refused.value.error_dict["code"]] == ["platform_code_format"]
    with pytest.raises(ValidationError):
        PlatformCode(dictionary="med_type", code="1234567", name="x").full_clean()
