"""Demo village doctors (synthetic, marked as demo everywhere), demo logins, and the
province-scale synthetic generator. Deterministic: the same run gives the same people."""

import datetime
import random

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from clinics.models import Facility, Role, Township, UserScope
from clinics.roles import role_assign
from clinics.seeding import COUNTY_HOSPITAL_CODE, seed_today
from core.validators import resident_id_check_char
from staffing.models import Doctor, Posting, keyed_hash

SURNAMES = "黄罗韦王李杨陆覃岑陈农梁刘张班"
GIVEN = [
    "德明", "志强", "秀英", "丽华", "国庆", "海燕", "建军", "春梅", "文华", "玉兰",
    "永福", "金凤", "光荣", "美玲", "振华", "小红", "正伟", "桂芳", "安平", "晓东",
    "思远", "佳怡", "宏图", "雪梅", "成林", "月娥", "立新", "翠萍",
]
BANKS = ["广西农村信用社", "中国农业银行", "中国邮政储蓄银行"]


def synthetic_id_number(birth: datetime.date, sequence: int, sex: str) -> str:
    """A GB 11643-valid number beginning 451028 (Leye). Belongs to nobody: demo data."""
    order = (sequence % 499) * 2 + (1 if sex == "M" else 0)  # 17th digit odd for male
    first17 = f"451028{birth:%Y%m%d}{order:03d}"
    return first17 + resident_id_check_char(first17)


def demo_doctor_data(index: int, *, today: datetime.date | None = None) -> dict:
    """The demo doctor number `index`; licences that run out soon (or have run out) are dated
    from `today`, the day the demo is built for (default: today)."""
    today = today or timezone.localdate()
    rng = random.Random(index)
    sex = "M" if index % 2 == 0 else "F"
    birth = datetime.date(1968 + rng.randrange(30), 1 + rng.randrange(12), 1 + rng.randrange(28))
    qualification = [Doctor.Qualification.VILLAGE_DOCTOR] * 3 + [Doctor.Qualification.ASSISTANT, Doctor.Qualification.PHYSICIAN]
    # A few licences run out soon or have run out, so the admin filters have something to show.
    if index % 29 == 3:
        expiry = today + datetime.timedelta(days=40 + index % 30)
    elif index % 53 == 7:
        expiry = today - datetime.timedelta(days=20)
    else:
        expiry = datetime.date(2028 + index % 4, 1 + index % 12, 15)
    return {
        "name": SURNAMES[index % len(SURNAMES)] + GIVEN[(index * 7) % len(GIVEN)],
        "sex": sex,
        "birth_date": birth,
        "id_number": synthetic_id_number(birth, index, sex),
        "mobile": f"1390776{index:04d}",
        "qualification": qualification[index % len(qualification)],
        "licence_number": f"演示{451028}{index:05d}",
        "licence_expiry": expiry,
        "insurance_code": f"D451028{index:06d}",  # synthetic 国家医保医师代码: D + 12 digits, like the one sample seen
        "hire_date": datetime.date(2015 + index % 8, 1 + index % 12, 1),
        "bank_name": BANKS[index % len(BANKS)],
        "bank_account": f"6230{index:015d}",
        "is_demo": True,
    }


def _counter(counts: dict, key: str, created: bool) -> None:
    counts.setdefault(key, {"created": 0, "existing": 0})
    counts[key]["created" if created else "existing"] += 1


@transaction.atomic
def seed_doctors(counts: dict) -> None:
    # Only Leye's own clinics: synthetic province-scale clinics (codes 99…) get their doctors in bulk.
    clinics = list(
        Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC, is_active=True, code__startswith="451028").order_by("code")
    )
    index = 0
    today = seed_today(counts)
    for clinic in clinics:
        for _slot in range(clinic.target_doctors):
            data = demo_doctor_data(index, today=today)
            index += 1
            doctor = Doctor.objects.filter(id_number_hash=keyed_hash(data["id_number"])).first()
            created = doctor is None
            if created:
                doctor = Doctor(**data)
                doctor.full_clean()
                doctor.save()
                Posting.objects.create(doctor=doctor, facility=clinic, start_date=doctor.hire_date)
            _counter(counts, "doctor", created)


DEMO_LOGINS = [
    # username, role, what they reach, full name
    ("county_admin", Role.COUNTY_ADMIN, "county", "县卫健局管理员（演示）"),
    ("tongle_admin", Role.TOWNSHIP_ADMIN, "township:451028100", "同乐镇卫生院管理员（演示）"),
    ("payroll_officer", Role.PAYROLL_OFFICER, "county", "工资专员（演示）"),
    ("insurance_clerk", Role.INSURANCE_CLERK, "county", "医保专员（演示）"),
    ("village_doctor", Role.VILLAGE_DOCTOR, "doctor:0", ""),
    ("consultant", Role.CONSULTANT, f"facility:{COUNTY_HOSPITAL_CODE}", "内科会诊医师（演示）"),
]


@transaction.atomic
def seed_demo_logins(counts: dict) -> list[tuple[str, str, str]]:
    User = get_user_model()
    password = settings.CUNYI_DEMO_PASSWORD
    logins = []
    for username, role, reach, full_name in DEMO_LOGINS:
        user = User.objects.filter(username=username).first()
        created = user is None
        if created:
            user = User(username=username)
            user.set_password(password)
            user.save()
        township = facility = None
        kind, _sep, key = reach.partition(":")
        if kind == "township":
            township = Township.objects.get(code=key)
        elif kind == "facility":
            facility = Facility.objects.get(code=key)
            township = facility.township
        elif kind == "doctor":
            doctor = Doctor.objects.get(id_number_hash=keyed_hash(demo_doctor_data(int(key))["id_number"]))
            if doctor.user_id is None:
                doctor.user = user
                doctor.save(update_fields=["user"])
            facility = doctor.postings.get(end_date__isnull=True).facility
            township = facility.township
            full_name = f"{doctor.name}（演示）"
        if created:
            user.first_name = full_name
            user.save(update_fields=["first_name"])
        scope = UserScope.objects.filter(user=user).first()
        if scope is None or (scope.role, scope.township_id, scope.facility_id) != (role, getattr(township, "pk", None),
                                                                                  getattr(facility, "pk", None)):
            role_assign(user=user, role=role, township=township, facility=facility)  # audited: only when it changes
        _counter(counts, "demo login", created)
        where = (facility or township).name if (facility or township) else "乐业县"
        logins.append((username, role.label, where))
    return logins


def seed_demo_login_step(counts: dict) -> None:
    """The demo logins come right after the doctors, so later steps (consultants, payroll) find them."""
    counts["_demo_logins"] = seed_demo_logins(counts)


# --- Province-scale synthetic data -------------------------------------------------------------


def seed_synthetic(*, clinics: int, batch_size: int = 5000) -> dict:
    """Townships of 100 clinics each, two doctors per clinic, with bulk inserts. Synthetic codes
    start with 99 so they never collide with real division codes."""
    existing = Facility.objects.filter(code__startswith="99").count()
    start = existing
    townships_needed = (start + clinics + 99) // 100
    first_new_township = (start + 99) // 100
    township_objs = []
    for t in range(start // 100, townships_needed):
        code = f"99{t:07d}"
        township_objs.append(Township(code=code, name=f"合成乡镇{t:05d}", kind=Township.Kind.TOWNSHIP))
    Township.objects.bulk_create(township_objs, batch_size=batch_size, ignore_conflicts=True)
    township_ids = dict(Township.objects.filter(code__startswith="99").values_list("code", "id"))
    facilities = [
        Facility(
            kind=Facility.Kind.VILLAGE_CLINIC,
            name=f"合成卫生室{n:06d}",
            code=f"99{n:010d}",
            township_id=township_ids[f"99{n // 100:07d}"],
            village=f"合成村{n:06d}",
            village_kind=Facility.VillageKind.VILLAGE,
            telemedicine_enabled=n % 4 == 0,
            is_demo=True,
        )
        for n in range(start, start + clinics)
    ]
    Facility.objects.bulk_create(facilities, batch_size=batch_size)
    facility_ids = dict(
        Facility.objects.filter(code__startswith="99", code__gte=f"99{start:010d}").values_list("code", "id")
    )
    doctors = []
    hire = datetime.date(2020, 1, 1)
    for n in range(start, start + clinics):
        for slot in (0, 1):
            index = 1_000_000 + n * 2 + slot
            birth = datetime.date(1970 + index % 30, 1 + index % 12, 1 + index % 28)
            sex = "M" if slot == 0 else "F"
            doctors.append(
                Doctor(
                    name=f"合成医生{index}",
                    sex=sex,
                    birth_date=birth,
                    id_number=f"S{index:017d}",  # synthetic: deliberately not a real-format number
                    id_number_hash=keyed_hash(f"S{index:017d}"),
                    mobile=f"13{index % 10**9:09d}",
                    qualification=Doctor.Qualification.VILLAGE_DOCTOR,
                    licence_expiry=datetime.date(2029, 1, 1),
                    hire_date=hire,
                    bank_name="合成银行",
                    bank_account=f"9{index:015d}",
                    is_demo=True,
                )
            )
    Doctor.objects.bulk_create(doctors, batch_size=batch_size)
    doctor_ids = dict(
        Doctor.objects.filter(id_number__startswith="S", id_number__gte=f"S{1_000_000 + start * 2:017d}").values_list(
            "id_number", "id"
        )
    )
    postings = [
        Posting(
            doctor_id=doctor_ids[f"S{1_000_000 + n * 2 + slot:017d}"],
            facility_id=facility_ids[f"99{n:010d}"],
            start_date=hire,
        )
        for n in range(start, start + clinics)
        for slot in (0, 1)
    ]
    Posting.objects.bulk_create(postings, batch_size=batch_size)
    return {"townships": townships_needed - first_new_township, "clinics": clinics, "doctors": len(doctors), "postings": len(postings)}
