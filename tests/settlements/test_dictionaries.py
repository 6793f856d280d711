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
