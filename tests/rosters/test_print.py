"""The printed rosters: A4 PDFs read back with pdftotext (poppler), in Chinese."""

import datetime
import shutil
import subprocess

import pytest
from django.urls import reverse

from clinics.models import Role
from staffing.rosters.services.generation import roster_generate
from tests.factories import TownshipFactory, clinic_with_doctors, make_user

OCT = datetime.date(2026, 10, 1)
pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")


def text_of(content: bytes, tmp_path, layout=False) -> str:
    path = tmp_path / "roster.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", *(["-layout"] if layout else []), str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def planned(calendar_2026, roles):
    township = TownshipFactory(name="同乐镇")
    clinic, doctors = clinic_with_doctors(2, township=township, name="平寨村卫生室")
    clinic_with_doctors(0, township=township, name="达道村卫生室")
    roster_generate(month=OCT)
    return {"township": township, "clinic": clinic, "doctors": doctors,
            "admin": make_user(Role.TOWNSHIP_ADMIN, township=township)}


def test_a_clinic_pdf_names_the_clinic_month_days_holidays_and_doctors(planned, client, tmp_path):
    client.force_login(planned["admin"])
    url = reverse("admin:rosters_rostermonth_print")
    response = client.get(f"{url}?township={planned['township'].pk}&month=2026-10&clinic={planned['clinic'].pk}")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = text_of(response.content, tmp_path)
    assert "平寨村卫生室" in text and "2026年10月" in text and "值班表" in text
    assert "10月1日" in text and "10月31日" in text and "国庆节" in text and "调休上班日" in text
    for doctor in planned["doctors"]:
        assert doctor.name in text
    assert "达道村卫生室" not in text


def test_a_township_pdf_is_landscape_with_every_clinic(planned, client, tmp_path):
    client.force_login(planned["admin"])
    response = client.get(f"{reverse('admin:rosters_rostermonth_print')}?township={planned['township'].pk}&month=2026-10")
    assert response.status_code == 200
    text = text_of(response.content, tmp_path)
    assert "同乐镇" in text and "平寨村卫生室" in text and "达道村卫生室" in text and "缺" in text
    info = subprocess.run(["pdfinfo", "-"], input=response.content, capture_output=True).stdout.decode()
    width, height = [float(v) for v in info.split("Page size:")[1].split("pts")[0].split("x")]
    assert width > height  # landscape A4: 842 x 595 points
    assert round(width) == 842 and round(height) == 595


def test_another_townships_clinic_is_not_printed(planned, client):
    other = TownshipFactory(name="甘田镇")
    far, _ = clinic_with_doctors(2, township=other)
    client.force_login(planned["admin"])
    response = client.get(f"{reverse('admin:rosters_rostermonth_print')}?township={other.pk}&month=2026-10&clinic={far.pk}")
    assert response.status_code == 403
