import pytest

from clinics.models import Department, Facility, Township
from clinics.roles import seed_roles
from clinics.seeding import seed_register
from staffing.models import Doctor, Posting
from staffing.seeding import seed_demo_logins, seed_doctors

pytestmark = pytest.mark.django_db


def run_register_seeds():
    counts: dict = {}
    seed_roles(counts)
    seed_register(counts)
    seed_doctors(counts)
    logins = seed_demo_logins(counts)
    return counts, logins


def test_leye_register_is_loaded_from_the_real_divisions():
    counts, logins = run_register_seeds()

    assert Township.objects.count() == 8
    assert Township.objects.filter(kind=Township.Kind.TOWN).count() == 4
    clinics = Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC)
    assert clinics.count() == 88
    assert clinics.filter(village_kind="village").count() == 84
    assert clinics.filter(village_kind="community").count() == 4
    assert clinics.filter(telemedicine_enabled=True).count() == 24
    assert Facility.objects.filter(kind=Facility.Kind.TOWNSHIP_CENTRE).count() == 10
    assert Facility.objects.get(kind=Facility.Kind.COUNTY_HOSPITAL).name == "乐业县人民医院"
    assert Department.objects.filter(facility__kind=Facility.Kind.COUNTY_HOSPITAL).count() >= 5
    assert Facility.objects.get(code="451028100001").name == "同乐镇三乐社区卫生服务站"
    assert Doctor.objects.count() == 176
    assert Doctor.objects.filter(is_demo=True).count() == 176
    assert Doctor.objects.filter(id_number__startswith="451028").count() == 176
    assert Posting.objects.filter(end_date__isnull=True).count() == 176
    assert {username for username, _role, _where in logins} >= {
        "county_admin", "tongle_admin", "village_doctor", "consultant"
    }


def test_every_demo_doctor_passes_the_register_validation():
    run_register_seeds()
    for doctor in Doctor.objects.all()[:176]:
        doctor.full_clean()


def test_second_run_changes_nothing():
    run_register_seeds()
    counts, _ = run_register_seeds()
    assert all(figures["created"] == 0 for figures in counts.values()), counts
    assert Doctor.objects.count() == 176
    assert Facility.objects.count() == 99
