"""The code dictionaries Cunyi ships: the core codes of the national platform as
`../shared/docs/insurance-platform.md` §3a–3f lists them (the codes implementations agree on —
not the other provinces' extras, which the document lists apart and warns not to assume for
Guangxi). Each dictionary records the document's source key. Guangxi's own codes (from the
platform's 1901 dictionary download or the bureau) are entered in admin as local additions.

`ensure_shipped(model)` inserts the shipped codes that are missing and touches nothing else, so an
admin's edit (a name, a disabled code, a note) is never overwritten. It runs in migration 0014,
after every `migrate` and test-database flush (post_migrate, `apps.SettlementsConfig`) and as the
`load_seeds` step `seed_platform_codes`. A shipped code is disabled, never deleted (the admin
refuses it), so these runs never bring back something removed on purpose."""

from django.db import transaction

# dictionary key → (source of the document, [(code, name), …]) in the document's order.
SHIPPED: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "insutype": (
        "§3a: IT YbInsuType, X3, NT EnumDB.cs (410 from X3/IT, 510 from X3)",
        [
            ("310", "职工基本医疗保险"),
            ("320", "公务员医疗补助"),
            ("330", "大额医疗费用补助"),
            ("340", "离休人员医疗保障"),
            ("350", "一至六级残废军人医疗补助"),
            ("360", "老红军医疗保障"),
            ("370", "企业补充医疗保险"),
            ("380", "新型农村合作医疗"),
            ("390", "城乡居民基本医疗保险"),
            ("391", "城镇居民基本医疗保险"),
            ("392", "城乡居民大病医疗保险"),
            ("399", "其他特殊人员医疗保障"),
            ("410", "长期照护保险"),
            ("510", "生育保险"),
        ],
    ),
    "med_type": (
        "§3b core codes: IT YbMedType (Jilin), NT (Chongqing/Shanghai), X3 (Hunan) agree",
        [
            ("11", "普通门诊"),
            ("12", "门诊挂号"),
            ("13", "急诊"),
            ("14", "门诊慢特病"),
            ("21", "普通住院"),
            ("22", "外伤住院"),
            ("23", "转外诊治住院"),
            ("24", "急诊转住院"),
            ("41", "定点药店购药"),
            ("51", "生育门诊"),
            ("52", "生育住院"),
        ],
    ),
    "clr_type": (
        "§3c: IT YbClrType",
        [
            ("11", "门诊"),
            ("21", "住院"),
            ("41", "药店购药"),
            ("99", "其他"),
        ],
    ),
    "clr_way": (
        "§3c: IT YbClrWay (width varies by region: HSA and X4 samples send a single-digit 3)",
        [
            ("01", "按项目"),
            ("02", "单病种"),
            ("03", "按床日"),
            ("04", "按人头"),
            ("05", "DRGs点数法"),
            ("99", "其他"),
        ],
    ),
    "psn_setlway": (
        "§3c: IT YbPsnSetlWay",
        [
            ("01", "按项目结算"),
            ("02", "按定额结算"),
        ],
    ),
    "psn_type": (
        "§3d: NT EnumDB.cs EnumRylb",
        [
            ("11", "在职"),
            ("1101", "职工在职"),
            ("1102", "公务员在职"),
            ("1103", "灵活就业人员在职"),
            ("1160", "地方其他扩展人员"),
            ("12", "退休人员"),
            ("1201", "职工退休"),
            ("1202", "公务员退休"),
            ("1203", "灵活就业人员退休"),
            ("1260", "地方其他扩展人员"),
            ("13", "离休"),
            ("1300", "离休人员"),
            ("1360", "地方其他扩展人员"),
            ("14", "居民（未成年）"),
            ("1401", "新生儿"),
            ("1402", "学龄前儿童"),
            ("1403", "中小学生"),
            ("1404", "大学生"),
            ("1405", "未成年（未入学）"),
            ("1460", "地方其他扩展身份"),
            ("15", "居民（成年）"),
            ("1501", "普通居民（成年）"),
            ("1560", "地方其他扩展身份"),
            ("16", "居民（老年）"),
        ],
    ),
    "psn_cert_type": (
        "§3e: IT YbPsnCertType (spec 7.13)",
        [
            ("01", "居民身份证（户口簿）"),
            ("02", "中国人民解放军军官证"),
            ("03", "中国人民武装警察警官证"),
            ("04", "香港特区护照/港澳居民来往内地通行证"),
            ("05", "澳门特区护照/港澳居民来往内地通行证"),
            ("06", "台湾居民来往大陆通行证"),
            ("07", "外国人永久居留证"),
            ("08", "外国人护照"),
            ("09", "残疾人证"),
            ("10", "军烈属证明"),
            ("11", "外国人就业证"),
            ("12", "外国专家证"),
            ("13", "外国人常驻记者证"),
            ("14", "台港澳人员就业证"),
            ("15", "回国（来华）定居专家证"),
            ("16", "中国护照"),
            ("17", "港澳台居民居住证"),
            ("90", "社会保障卡"),
            ("99", "其他身份证件"),
        ],
    ),
    "mdtrt_cert_type": (
        "§3f: IT YbMdtrtCertType (spec 7.35), X3 agrees (04 其他 is X5 only, unconfirmed: not shipped)",
        [
            ("01", "医保电子凭证"),
            ("02", "居民身份证"),
            ("03", "社会保障卡"),
        ],
    ),
}


def shipped_rows() -> list[dict]:
    """Every shipped code as the fields of a PlatformCode."""
    return [
        {"dictionary": key, "code": code, "name": name, "source": source}
        for key, (source, codes) in SHIPPED.items()
        for code, name in codes
    ]


def ensure_shipped(model, *, using: str = "default") -> tuple[int, int]:
    """Insert the shipped codes `model` (the PlatformCode model, or its historical version in a
    migration) lacks; never change or re-enable a stored one. Returns (created, already there)."""
    rows = shipped_rows()
    with transaction.atomic(using=using):
        stored = set(model.objects.using(using).values_list("dictionary", "code"))
        missing = [model(**row) for row in rows if (row["dictionary"], row["code"]) not in stored]
        # ignore_conflicts: a concurrent run (two workers migrating) inserting the same code is fine.
        model.objects.using(using).bulk_create(missing, ignore_conflicts=True)
    return len(missing), len(rows) - len(missing)


def seed_platform_codes(counts: dict) -> None:
    """`manage.py load_seeds` step: the shipped dictionaries (idempotent; an admin's edits stay)."""
    from clinics.settlements.models import PlatformCode

    created, existing = ensure_shipped(PlatformCode)
    line = counts.setdefault("platformcode", {"created": 0, "existing": 0})
    line["created"] += created
    line["existing"] += existing
