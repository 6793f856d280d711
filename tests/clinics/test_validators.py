import datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from core.validators import (
    mask_account,
    mask_id_number,
    resident_id_birth_date,
    resident_id_check_char,
    resident_id_sex,
    validate_mobile,
    validate_resident_id,
)


def test_a_known_number_passes_and_is_normalised():
    first17 = "45102819800101001"
    number = first17 + resident_id_check_char(first17)
    assert validate_resident_id(number.lower()) == number
    assert resident_id_birth_date(number) == datetime.date(1980, 1, 1)
    assert resident_id_sex(number) == "M"


def test_check_character_x_is_accepted():
    # Weighted sum mod 11 == 2 maps to "X"; search a valid one deterministically.
    for order in range(1000):
        first17 = f"45102819900202{order:03d}"
        if resident_id_check_char(first17) == "X":
            assert validate_resident_id(first17 + "x") == first17 + "X"
            return
    pytest.fail("no X check character found")


@given(st.dates(min_value=datetime.date(1940, 1, 1), max_value=datetime.date(2010, 12, 31)), st.integers(0, 999))
def test_every_wrong_check_character_is_rejected(birth, order):
    first17 = f"451028{birth:%Y%m%d}{order:03d}"
    good = resident_id_check_char(first17)
    assert validate_resident_id(first17 + good)
    for wrong in "0123456789X":
        if wrong != good:
            with pytest.raises(ValidationError) as excinfo:
                validate_resident_id(first17 + wrong)
            assert "校验码" in excinfo.value.messages[0]


@pytest.mark.parametrize(
    "value,fragment",
    [("12345", "18"), ("45102819801301001X", "出生日期"), ("4510281980010100ab", "18")],
)
def test_malformed_numbers_say_what_to_fix(value, fragment):
    with pytest.raises(ValidationError) as excinfo:
        validate_resident_id(value)
    assert fragment in excinfo.value.messages[0]


@pytest.mark.parametrize("mobile", ["13800000000", "19912345678"])
def test_mobiles_accepted(mobile):
    assert validate_mobile(mobile) == mobile


@pytest.mark.parametrize("mobile", ["12800000000", "1380000000", "138000000000", "abc"])
def test_mobiles_rejected_in_chinese(mobile):
    with pytest.raises(ValidationError) as excinfo:
        validate_mobile(mobile)
    assert "手机号" in excinfo.value.messages[0]


def test_masking_keeps_only_what_identifies_for_a_person():
    assert mask_id_number("451028198001010014") == "451028********0014"
    assert mask_account("6230000000000000123") == "****0123"


@pytest.mark.django_db
def test_role_without_its_reach_is_refused_with_a_message_and_nothing_saved():
    from clinics.models import Role, UserScope
    from clinics.roles import role_assign
    from tests.factories import UserFactory

    user = UserFactory()
    with pytest.raises(ValidationError) as excinfo:
        role_assign(user=user, role=Role.TOWNSHIP_ADMIN)
    assert "乡镇" in str(excinfo.value)
    assert not UserScope.objects.filter(user=user).exists()


# --- Full-width and other non-ASCII digits (an input-method slip) ------------------------------

FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def a_valid_id(birth=datetime.date(1980, 1, 1), order=1):
    from tests.factories import make_id_number

    return make_id_number(birth, order)


def test_a_full_width_id_number_is_stored_in_ascii():
    number = a_valid_id()
    assert validate_resident_id(number.translate(FULL_WIDTH)) == number
    assert validate_resident_id("　" + number.translate(FULL_WIDTH) + " ") == number  # ideographic space too


def test_a_full_width_x_check_character_becomes_x():
    for order in range(1000):
        first17 = f"45102819900202{order:03d}"
        if resident_id_check_char(first17) == "X":
            assert validate_resident_id((first17 + "x").translate(FULL_WIDTH)) == first17 + "X"
            return
    pytest.fail("no X check character found")


def test_digits_that_nfkc_leaves_non_ascii_are_refused():
    # Arabic-Indic digits are digits to Python's \d and int(), but not to an ID card or a phone.
    with pytest.raises(ValidationError) as excinfo:
        validate_resident_id(a_valid_id().translate(ARABIC_INDIC))
    assert excinfo.value.code == "id_format"
    with pytest.raises(ValidationError) as excinfo:
        validate_mobile("13800000000".translate(ARABIC_INDIC))
    assert excinfo.value.code == "mobile"


def test_a_full_width_mobile_is_stored_in_ascii():
    assert validate_mobile("１３８００００００００") == "13800000000"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("ＩＭＰ０００１", "IMP0001"), ("  t-0001/a ", "t-0001/a"), ("", "")],
)
def test_codes_are_nfkc_normalised(typed, stored):
    from core.validators import validate_code

    assert validate_code(typed) == stored


@pytest.mark.parametrize("typed", ["乐业01", "A 01", "A\u200b01", "٤٥١", "A01！"])
def test_codes_outside_ascii_are_refused(typed):
    from core.validators import validate_code

    with pytest.raises(ValidationError) as excinfo:
        validate_code(typed)
    assert excinfo.value.code == "code_format"


def test_a_licence_number_may_hold_chinese_but_digits_become_ascii():
    from core.validators import validate_code

    assert validate_code("桂乡医证字４５１０２８", allow_chinese=True) == "桂乡医证字451028"
    with pytest.raises(ValidationError):
        validate_code("桂乡医 证字451028", allow_chinese=True)


@pytest.mark.django_db
def test_a_second_doctor_with_the_full_width_spelling_of_an_id_number_is_a_duplicate():
    from staffing.models import Doctor
    from tests.factories import DoctorFactory

    first = DoctorFactory()
    twin = DoctorFactory.build(
        id_number=first.id_number.translate(FULL_WIDTH), birth_date=first.birth_date, sex=first.sex
    )
    with pytest.raises(ValidationError) as excinfo:
        twin.full_clean()
    assert [error.code for error in excinfo.value.error_dict["id_number"]] == ["unique"]
    assert twin.id_number == first.id_number
    assert Doctor.objects.count() == 1


@pytest.mark.django_db
def test_a_doctors_mobile_and_codes_are_stored_normalised():
    from tests.factories import DoctorFactory

    doctor = DoctorFactory.build(
        mobile="１３９１２３４５６７８", insurance_code="Ｔ０００９", licence_number="ＬＩＣ００９"
    )
    doctor.full_clean()
    doctor.save()
    doctor.refresh_from_db()
    assert (doctor.mobile, doctor.insurance_code, doctor.licence_number) == ("13912345678", "T0009", "LIC009")


@pytest.mark.django_db
def test_a_doctor_with_a_chinese_insurance_code_is_refused():
    from tests.factories import DoctorFactory

    with pytest.raises(ValidationError) as excinfo:
        DoctorFactory.build(insurance_code="医保01").full_clean()
    assert [error.code for error in excinfo.value.error_dict["insurance_code"]] == ["code_format"]


@pytest.mark.django_db
def test_a_full_width_clinic_or_township_code_is_a_duplicate():
    from clinics.models import Facility, Township
    from tests.factories import FacilityFactory

    clinic = FacilityFactory(code="451028100001")
    twin = Facility(
        kind=clinic.kind, name="另一个卫生室", code="451028100001".translate(FULL_WIDTH), township=clinic.township, village_kind="village"
    )
    with pytest.raises(ValidationError) as excinfo:
        twin.full_clean()
    assert [error.code for error in excinfo.value.error_dict["code"]] == ["unique"]
    assert twin.code == "451028100001"

    township = Township(code=clinic.township.code.translate(FULL_WIDTH), name="另一个乡", kind="township")
    with pytest.raises(ValidationError) as excinfo:
        township.full_clean()
    assert [error.code for error in excinfo.value.error_dict["code"]] == ["unique"]


@pytest.mark.django_db
def test_a_clinic_code_in_chinese_is_refused_with_the_field_named():
    from clinics.models import Facility
    from tests.factories import TownshipFactory

    clinic = Facility(kind="township_centre", name="中心卫生院", code="乐业中心", township=TownshipFactory())
    with pytest.raises(ValidationError) as excinfo:
        clinic.full_clean()
    assert [error.code for error in excinfo.value.error_dict["code"]] == ["code_format"]


@pytest.mark.django_db
def test_a_notification_mobile_is_stored_in_ascii(roles):
    from clinics.models import Role
    from notifications.services import preference_update
    from tests.factories import make_user

    user = make_user(Role.COUNTY_ADMIN)
    preference = preference_update(
        user=user, email_enabled=False, sms_enabled=True, mobile="１３８００００１１１１", acting_user=user
    )
    preference.refresh_from_db()
    assert preference.mobile == "13800001111"


def test_a_teleconsult_patients_full_width_id_number_is_normalised():
    from telemedicine.services.patients import Patient, clean_patient

    number = a_valid_id()
    patient = clean_patient(Patient(name="黄某", sex="M", id_number=number.translate(FULL_WIDTH)))
    assert patient.id_number == number
    assert patient.birth_date == datetime.date(1980, 1, 1)


# --- Impossible birth dates --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "code"),
    [(datetime.date(2099, 1, 1), "id_birth_future"), (datetime.date(1899, 12, 31), "id_birth_too_early")],
)
def test_an_id_number_with_an_impossible_birth_date_is_refused(born, code):
    with pytest.raises(ValidationError) as excinfo:
        validate_resident_id(a_valid_id(born))
    assert excinfo.value.code == code


def test_an_id_number_born_on_the_first_day_of_1900_or_today_passes():
    from django.utils import timezone

    assert validate_resident_id(a_valid_id(datetime.date(1900, 1, 1)))
    assert validate_resident_id(a_valid_id(timezone.localdate()))


def test_tomorrow_is_refused_as_a_birth_date_and_today_is_not():
    from core.validators import validate_birth_date

    today = datetime.date(2026, 12, 2)
    assert validate_birth_date(today, today=today) == today
    with pytest.raises(ValidationError) as excinfo:
        validate_birth_date(today + datetime.timedelta(days=1), today=today)
    assert excinfo.value.code == "birth_future"
    assert "不能晚于今天" in excinfo.value.messages[0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("born", "code"), [(datetime.date(2099, 6, 15), "birth_future"), (datetime.date(1899, 6, 15), "birth_too_early")]
)
def test_a_doctor_with_an_impossible_birth_date_is_refused(born, code):
    from staffing.models import Doctor
    from tests.factories import DoctorFactory

    doctor = DoctorFactory.build(birth_date=born, id_number=a_valid_id())
    with pytest.raises(ValidationError) as excinfo:
        doctor.full_clean()
    assert [error.code for error in excinfo.value.error_dict["birth_date"]] == [code]
    assert not Doctor.objects.exists()


@pytest.mark.parametrize(
    ("born", "code"), [(datetime.date(2099, 6, 15), "birth_future"), (datetime.date(1899, 6, 15), "birth_too_early")]
)
def test_a_teleconsult_patient_with_an_impossible_birth_date_is_refused(born, code):
    from telemedicine.services.patients import Patient, clean_patient

    with pytest.raises(ValidationError) as excinfo:
        clean_patient(Patient(name="黄某", sex="F", birth_date=born), today=datetime.date(2026, 12, 2))
    assert [error.code for error in excinfo.value.error_dict["patient_birth_date"]] == [code]
