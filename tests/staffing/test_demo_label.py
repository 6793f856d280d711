"""A demo doctor's name carries one mark, from one home (`staffing.models.doctor_label`), in the
language of the moment: on screens (`Doctor.__str__`), in the pay run's audit rows and bank-file
rows built without instances, and in the payroll review."""

from django.utils import translation

from staffing.models import Doctor, doctor_label
from staffing.payroll.calculation import DoctorRow


def test_doctor_label_marks_demo_doctors_in_the_active_language():
    with translation.override("zh-hans"):
        assert doctor_label("黄春燕", True) == "黄春燕（演示）"
        assert doctor_label("黄春燕", False) == "黄春燕"
    with translation.override("en"):
        assert doctor_label("黄春燕", True) == "黄春燕(demo)"


def test_every_doctor_name_goes_through_the_one_label():
    row = DoctorRow(1, "韦小兰", True, None, None, "", "", "", None, "active")
    doctor = Doctor(name="韦小兰", is_demo=True)
    with translation.override("zh-hans"):
        assert str(row) == str(doctor) == doctor_label("韦小兰", True) == "韦小兰（演示）"
    with translation.override("en"):
        assert str(row) == str(doctor) == "韦小兰(demo)"
