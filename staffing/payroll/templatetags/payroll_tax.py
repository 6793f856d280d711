"""The payslip's income-tax details for templates (`{% payslip_tax slip as tax %}`): the special
additional deductions of the month and the year to date, the tax figures of the cumulative
method, and how each annual bonus was taxed (owned by the tax part)."""

from django import template

register = template.Library()


@register.simple_tag
def payslip_tax(slip) -> dict:
    from staffing.payroll.tax.bonus import BONUS, bonus_sentence
    from staffing.payroll.tax.deductions import payslip_deductions

    lines = list(slip.lines.all())
    tax_line = next((ln for ln in lines if ln.component == "income_tax"), None)
    return {
        "deductions": payslip_deductions(slip),
        "cumulative": tax_line.source if tax_line is not None else None,
        "bonuses": [{"method": ln.source["tax_method"], "sentence": bonus_sentence(ln.source, ln.amount)}
                    for ln in lines if ln.component == BONUS and ln.source.get("tax_method")],
    }
