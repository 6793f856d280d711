"""factory_boy factories for the register. Other apps keep theirs in tests/<app>/factories.py."""

import datetime

import factory
from django.contrib.auth import get_user_model

from clinics.models import Facility, Role, Township, UserScope
from core.validators import resident_id_check_char
from staffing.models import Doctor, Posting


class TownshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Township
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"4510289{n:02d}")
    name = factory.Sequence(lambda n: f"测试乡{n}")
    kind = Township.Kind.TOWNSHIP


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility

    kind = Facility.Kind.VILLAGE_CLINIC
    township = factory.SubFactory(TownshipFactory)
    code = factory.Sequence(lambda n: f"451028{n:06d}")
    name = factory.Sequence(lambda n: f"测试村{n}卫生室")
    village = factory.Sequence(lambda n: f"测试村{n}")
    village_kind = Facility.VillageKind.VILLAGE


def make_id_number(birth: datetime.date, n: int, sex: str = "M") -> str:
    order = (n % 499) * 2 + (1 if sex == "M" else 0)
    first17 = f"451028{birth:%Y%m%d}{order:03d}"
    return first17 + resident_id_check_char(first17)


class DoctorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Doctor

    name = factory.Sequence(lambda n: f"医生{n}")
    sex = "M"
    birth_date = datetime.date(1985, 6, 15)
    id_number = factory.LazyAttributeSequence(lambda o, n: make_id_number(o.birth_date, n, o.sex))
    mobile = factory.Sequence(lambda n: f"139{n:08d}")
    qualification = Doctor.Qualification.VILLAGE_DOCTOR
    licence_number = factory.Sequence(lambda n: f"LIC{n:06d}")
    licence_expiry = datetime.date(2030, 1, 1)
    hire_date = datetime.date(2020, 1, 1)
    bank_name = "广西农村信用社"
    bank_account = factory.Sequence(lambda n: f"6230{n:015d}")
    insurance_code = factory.Sequence(lambda n: f"T{n:08d}")


class PostingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Posting

    doctor = factory.SubFactory(DoctorFactory)
    facility = factory.SubFactory(FacilityFactory)
    start_date = factory.LazyAttribute(lambda o: o.doctor.hire_date)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("a-long-test-password-1")


def make_user(role: str, *, township=None, facility=None, doctor=None, username=None):
    """A user with a role and reach, the way `role_assign` gives it."""
    from clinics.roles import role_assign

    user = UserFactory(username=username) if username else UserFactory()
    if role == Role.VILLAGE_DOCTOR and doctor is not None:
        doctor.user = user
        doctor.save(update_fields=["user"])
        facility = facility or doctor.postings.get(end_date__isnull=True).facility
    if facility is not None and township is None:
        township = facility.township
    role_assign(user=user, role=role, township=township, facility=facility)
    user.refresh_from_db()
    return user


def clinic_with_doctors(n: int = 2, **facility_kwargs):
    clinic = FacilityFactory(**facility_kwargs)
    doctors = [PostingFactory(facility=clinic).doctor for _ in range(n)]
    return clinic, doctors


__all__ = [
    "TownshipFactory",
    "FacilityFactory",
    "DoctorFactory",
    "PostingFactory",
    "UserFactory",
    "UserScope",
    "make_user",
    "make_id_number",
    "clinic_with_doctors",
]
