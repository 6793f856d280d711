import datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from clinics.validators import (
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
