"""The annual one-off bonus: both methods computed independently here, the cheaper one chosen and
recorded, the 36,000 / 36,001 cliff, the one-per-year rule (service, constraint, calculation),
and the refusal after 2027-12-31 unless a newer rule is entered. Demo policy: 1,400 + 1,100 +
600 = 3,100 a month, resident scheme 200 a month."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.models import AuditEntry
from staffing.payroll import services
from staffing.payroll.models import BonusTaxRule, OneOffItem, Payslip
from staffing.payroll.tax.bonus import RULE_2023_30, separate_tax
from tests.factories import PostingFactory
from tests.payroll.conftest import NOV, OCT, approve, lines_of, run_month

pytestmark = pytest.mark.django_db

MONTHLY = [(Decimal("3000"), Decimal("0.03"), 0), (Decimal("12000"), Decimal("0.10"), 210), (Decimal("25000"), Decimal("0.20"), 1410),
           (Decimal("35000"), Decimal("0.25"), 2660), (Decimal("55000"), Decimal("0.30"), 4410), (Decimal("80000"), Decimal("0.35"), 7160),
           (None, Decimal("0.45"), 15160)]
ANNUAL = [(36000, Decimal("0.03"), 0), (144000, Decimal("0.10"), 2520), (300000, Decimal("0.20"), 16920), (420000, Decimal("0.25"), 31920),
          (660000, Decimal("0.30"), 52920), (960000, Decimal("0.35"), 85920), (None, Decimal("0.45"), 181920)]


def cents(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def on_table(table, base, amount):
    for upper, rate, quick in table:
        if upper is None or base <= upper:
            return max(cents(amount * rate - quick), Decimal("0"))


def bonus_alone(bonus):  # 2023年第30号: bonus ÷ 12 picks the monthly row; bonus × rate − quick once
    return on_table(MONTHLY, bonus / 12, bonus)


def wage_tax(taxable):  # a first month of employment: cumulative taxable is the month's
    return on_table(ANNUAL, taxable, taxable) if taxable > 0 else Decimal("0")


def new_hire_in_october(**kwargs):
    return PostingFactory(doctor__hire_date=OCT, **kwargs).doctor


def bonus(doctor, amount, month=OCT, method="auto"):
    return OneOffItem.objects.create(doctor=doctor, month=month, kind="bonus", amount=Decimal(amount), description="年终奖", tax_method=method)


def test_the_separate_method_has_the_known_cliff_at_36000():
    assert separate_tax(Decimal("36000"), RULE_2023_30["brackets"])[0] == Decimal("1080.00") == bonus_alone(Decimal("36000"))
    # 36,001 ÷ 12 = 3,000.08 > 3,000: 10% on the whole bonus − 210 = 3,390.10, 2,310.10 more tax for one more yuan.
    assert separate_tax(Decimal("36001"), RULE_2023_30["brackets"])[0] == Decimal("3390.10") == bonus_alone(Decimal("36001"))
    assert separate_tax(Decimal("144000"), RULE_2023_30["brackets"])[0] == bonus_alone(Decimal("144000")) == Decimal("14190.00")


def test_a_normal_month_with_a_36000_bonus_is_cheaper_taxed_with_the_income(policies, visits):
    doctor = new_hire_in_october()
    bonus(doctor, "36000")
    slip = Payslip.objects.get(run=run_month(OCT), doctor=doctor)
    wage_taxable = Decimal("3100") - 5000 - 200  # negative: no wage tax alone
    combined = wage_tax(wage_taxable + 36000)  # 33,900 × 3% = 1,017.00
    separately = wage_tax(wage_taxable) + bonus_alone(Decimal("36000"))  # 0 + 1,080.00
    assert (combined, separately) == (Decimal("1017.00"), Decimal("1080.00"))
    line = lines_of(slip)[("bonus", OCT)]
    assert line.source["tax_method"] == "combined" and line.source["chosen_by"] == "auto" and line.source["cheaper"] == "combined"
    assert (Decimal(line.source["month_tax_if_combined"]), Decimal(line.source["month_tax_if_separate"])) == (combined, separately)
    assert slip.income_tax == combined and slip.taxable_income == Decimal("39100.00") and line.taxable
    assert ("bonus_income_tax", OCT) not in lines_of(slip)
    assert any(w["code"] == "bonus_tax_method" and w["params"]["method"] == "combined" for w in slip.warnings)


def test_a_high_income_month_is_cheaper_with_the_bonus_taxed_separately_and_the_cliff_shows(policies, visits):
    rich, cliff = new_hire_in_october(), new_hire_in_october()
    for doctor, amount in ((rich, "36000"), (cliff, "36001")):
        OneOffItem.objects.create(doctor=doctor, month=OCT, kind="back_pay", amount=Decimal("150000"), description="补发")
        bonus(doctor, amount)
    run = run_month(OCT)
    wage_taxable = Decimal("153100") - 5000 - 200  # 147,900: 20% bracket
    for doctor, amount in ((rich, Decimal("36000")), (cliff, Decimal("36001"))):
        slip = Payslip.objects.get(run=run, doctor=doctor)
        combined = wage_tax(wage_taxable + amount)
        separately = wage_tax(wage_taxable) + bonus_alone(amount)
        lines = lines_of(slip)
        source = lines[("bonus", OCT)].source
        assert source["tax_method"] == "separate" and source["cheaper"] == "separate"
        assert (Decimal(source["month_tax_if_separate"]), Decimal(source["month_tax_if_combined"])) == (separately, combined)
        assert lines[("bonus_income_tax", OCT)].amount == bonus_alone(amount)
        assert lines[("income_tax", OCT)].amount == wage_tax(wage_taxable) == Decimal("12660.00")
        assert slip.income_tax == separately
        assert slip.taxable_income == Decimal("153100.00") and not lines[("bonus", OCT)].taxable  # the bonus is out of the cumulative base
        assert slip.net == Decimal("153100") + amount - 200 - separately
    assert Payslip.objects.get(run=run, doctor=rich).income_tax == Decimal("13740.00")
    assert Payslip.objects.get(run=run, doctor=cliff).income_tax == Decimal("16050.10")  # 1 yuan more bonus, 2,310.10 more tax


def test_the_officers_costlier_choice_is_used_and_flagged(policies, visits):
    doctor = new_hire_in_october()
    bonus(doctor, "36000", method="separate")
    slip = Payslip.objects.get(run=run_month(OCT), doctor=doctor)
    source = lines_of(slip)[("bonus", OCT)].source
    assert (source["tax_method"], source["chosen_by"], source["cheaper"]) == ("separate", "officer", "combined")
    assert slip.income_tax == Decimal("1080.00")
    assert any(w["code"] == "bonus_tax_costlier" for w in slip.warnings)


def test_a_separate_bonus_tax_does_not_count_as_wage_tax_withheld_later(policies, visits):
    doctor = new_hire_in_october()
    OneOffItem.objects.create(doctor=doctor, month=OCT, kind="back_pay", amount=Decimal("150000"), description="补发")
    bonus(doctor, "36000", method="separate")
    approve(run_month(OCT))
    slip = Payslip.objects.get(run=run_month(NOV), doctor=doctor)
    # November: cumulative 153,100 + 3,100 − 10,000 − 400 = 145,800 → 20% − 16,920 = 12,240; withheld before is
    # October's wage tax 12,660 only (not the bonus's 1,080), so nothing more is due.
    assert slip.income_tax == Decimal("0.00")
    OneOffItem.objects.create(doctor=doctor, month=NOV, kind="back_pay", amount=Decimal("10000"), description="补发")
    slip = Payslip.objects.get(run=run_month(NOV), doctor=doctor)
    tax = lines_of(slip)[("income_tax", NOV)]
    assert tax.source["withheld_before"] == "12660.00"
    expected = on_table(ANNUAL, Decimal("155800"), Decimal("155800")) - Decimal("12660")
    assert slip.income_tax == expected == Decimal("1580.00")


def test_only_one_bonus_a_year_is_taxed_separately(policies, visits, county_admin):
    doctor = new_hire_in_october()
    first = OneOffItem(doctor=doctor, month=OCT, kind="bonus", amount=Decimal("5000"), description="年中奖", tax_method="separate")
    services.one_off_item_save(item=first, acting_user=county_admin)
    assert AuditEntry.objects.get(action="one_off.create", object_id=str(first.pk)).changes["tax_method"] == [None, "separate"]
    second = OneOffItem(doctor=doctor, month=NOV, kind="bonus", amount=Decimal("8000"), description="年终奖", tax_method="separate")
    with pytest.raises(ValidationError) as exc:
        services.one_off_item_save(item=second, acting_user=county_admin)
    assert "tax_method" in exc.value.message_dict and "2026-10" in exc.value.message_dict["tax_method"][0]
    # The database says the same under a write that skips the checks.
    with pytest.raises(IntegrityError), transaction.atomic():
        OneOffItem.objects.create(doctor=doctor, month=NOV, kind="bonus", amount=Decimal("8000"), description="x", tax_method="separate")
    # Another tax year, or with the month's income: accepted.
    services.one_off_item_save(item=OneOffItem(doctor=doctor, month=datetime.date(2027, 1, 1), kind="bonus", amount=Decimal("8000"),
                                               description="次年", tax_method="separate"), acting_user=county_admin)
    second.tax_method = "combined"
    services.one_off_item_save(item=second, acting_user=county_admin)


def test_the_automatic_choice_never_taxes_a_second_bonus_separately(policies, visits):
    doctor = new_hire_in_october()
    OneOffItem.objects.create(doctor=doctor, month=OCT, kind="back_pay", amount=Decimal("150000"), description="补发")
    bonus(doctor, "36000")
    approve(run_month(OCT))
    assert lines_of(Payslip.objects.get(run__month=OCT, doctor=doctor))[("bonus", OCT)].source["tax_method"] == "separate"
    OneOffItem.objects.create(doctor=doctor, month=NOV, kind="back_pay", amount=Decimal("150000"), description="补发")
    bonus(doctor, "36000", month=NOV)
    source = lines_of(Payslip.objects.get(run=run_month(NOV), doctor=doctor))[("bonus", NOV)].source
    assert source["tax_method"] == "combined"  # separately would be cheaper, but October's bonus was
    explicit = OneOffItem(doctor=doctor, month=NOV, kind="bonus", amount=Decimal("100"), description="x", tax_method="separate")
    with pytest.raises(ValidationError):
        explicit.full_clean()  # an approved automatic choice counts too


def test_only_a_bonus_has_a_tax_method(policies):
    doctor = new_hire_in_october()
    item = OneOffItem(doctor=doctor, month=OCT, kind="back_pay", amount=Decimal("1"), description="x", tax_method="separate")
    with pytest.raises(ValidationError) as exc:
        item.full_clean()
    assert "tax_method" in exc.value.message_dict


def test_after_2027_a_separate_bonus_is_refused_until_a_newer_rule_is_entered(policies, visits, county_admin):
    january = datetime.date(2028, 1, 1)
    doctor = PostingFactory(doctor__hire_date=january).doctor
    item = OneOffItem(doctor=doctor, month=january, kind="bonus", amount=Decimal("36000"), description="年终奖", tax_method="separate")
    with pytest.raises(ValidationError) as exc:
        services.one_off_item_save(item=item, acting_user=county_admin)
    assert "2028-01" in exc.value.message_dict["tax_method"][0] and "2027-12-31" in exc.value.message_dict["tax_method"][0]
    # December 2027 is still covered.
    services.one_off_item_save(item=OneOffItem(doctor=PostingFactory(doctor__hire_date=datetime.date(2027, 12, 1)).doctor,
                                               month=datetime.date(2027, 12, 1), kind="bonus", amount=Decimal("100"), description="x",
                                               tax_method="separate"), acting_user=county_admin)
    # Entered behind the check's back, the calculation refuses it in Chinese too.
    OneOffItem.objects.create(doctor=doctor, month=january, kind="bonus", amount=Decimal("36000"), description="年终奖", tax_method="separate")
    with pytest.raises(ValidationError) as exc:
        run_month(january)
    assert "2028-01" in exc.value.messages[0]
    # The automatic method falls back to the month's income, and says why.
    OneOffItem.objects.filter(month=january).update(tax_method="auto")
    slip = Payslip.objects.get(run=run_month(january), doctor=doctor)
    assert lines_of(slip)[("bonus", january)].source["tax_method"] == "combined"
    assert lines_of(slip)[("bonus", january)].source["month_tax_if_separate"] is None
    # A newer rule (entered through the audited service) makes it acceptable and computed.
    newer = BonusTaxRule(name="延续政策", basis="假设的新公告（测试）", valid_from=january, valid_until=None, brackets=RULE_2023_30["brackets"])
    services_rule(newer, county_admin)
    OneOffItem.objects.filter(month=january).update(tax_method="separate")
    slip = Payslip.objects.get(run=run_month(january), doctor=doctor)
    assert lines_of(slip)[("bonus_income_tax", january)].amount == Decimal("1080.00")
    assert lines_of(slip)[("bonus", january)].source["rule"]["basis"] == "假设的新公告（测试）"
    assert AuditEntry.objects.filter(action="bonus_tax_rule.create", object_id=str(newer.pk)).exists()


def services_rule(rule, user):
    from staffing.payroll.tax.bonus import bonus_tax_rule_save

    return bonus_tax_rule_save(rule=rule, acting_user=user)


def test_rules_may_not_overlap_and_need_a_readable_table(policies, county_admin):
    from staffing.payroll.tax.bonus import bonus_tax_rule_save

    overlapping = BonusTaxRule(name="x", basis="y", valid_from=datetime.date(2027, 6, 1), brackets=RULE_2023_30["brackets"])
    with pytest.raises(ValidationError) as exc:
        bonus_tax_rule_save(rule=overlapping, acting_user=county_admin)
    assert "valid_from" in exc.value.message_dict
    broken = BonusTaxRule(name="x", basis="y", valid_from=datetime.date(2030, 1, 1), brackets=[["3000", "0.03", "0"], ["1000", "0.1", "210"]])
    with pytest.raises(ValidationError) as exc:
        bonus_tax_rule_save(rule=broken, acting_user=county_admin)
    assert "brackets" in exc.value.message_dict


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_a_second_separate_bonus_in_a_year(policies):
    doctor = new_hire_in_october()
    bonus(doctor, "100", method="separate")
    with pytest.raises(IntegrityError), transaction.atomic():
        bonus(doctor, "200", month=NOV, method="separate")
    bonus(doctor, "200", month=datetime.date(2027, 1, 1), method="separate")
    bonus(doctor, "300", month=NOV, method="combined")


def test_the_bonus_rule_changelist_queries_stay_flat_and_only_the_county_changes_rules(policies, county_admin, roles, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from clinics.models import Role
    from tests.factories import FacilityFactory, make_user

    url = reverse("admin:payroll_bonustaxrule_changelist")
    client.force_login(county_admin)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for year in range(2030, 2040):
        BonusTaxRule.objects.create(name="x", basis=f"测试{year}", valid_from=datetime.date(year, 1, 1),
                                    valid_until=datetime.date(year, 12, 31), brackets=RULE_2023_30["brackets"])
    assert count() == few
    # A township admin reads the rules his doctors' bonuses are taxed by, but cannot add or change one.
    client.force_login(make_user(Role.TOWNSHIP_ADMIN, township=FacilityFactory().township))
    assert client.get(url).status_code == 200
    assert client.get(reverse("admin:payroll_bonustaxrule_add")).status_code == 403


def test_the_admin_form_refuses_a_separate_bonus_no_rule_covers(policies, county_admin, client):
    from django.urls import reverse

    doctor = PostingFactory(doctor__hire_date=datetime.date(2027, 6, 1)).doctor
    client.force_login(county_admin)
    data = {"doctor": doctor.pk, "month": "2028-01-01", "kind": "bonus", "amount": "36000", "description": "年终奖", "tax_method": "separate"}
    response = client.post(reverse("admin:payroll_oneoffitem_add"), data)
    assert response.status_code == 200 and "2028-01" in response.content.decode()
    assert not OneOffItem.objects.exists()
    data["month"] = "2027-12-01"
    assert client.post(reverse("admin:payroll_oneoffitem_add"), data).status_code == 302
    assert OneOffItem.objects.get().tax_method == "separate"
