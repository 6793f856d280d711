"""`{% load payroll_review %}`: `{{ amount|yuan }}` (the one money format: 545,600.00, from
`staffing.payroll.money.yuan`), `{{ line|line_source }}` (a payslip line's source as a sentence)
and `{{ warning|warning_sentence }}` (a stored warning as a sentence)."""

from django import template

from staffing.payroll.money import yuan as format_yuan
from staffing.payroll.review import sentences, warnings

register = template.Library()


@register.filter
def yuan(value) -> str:
    try:
        return format_yuan(value)
    except (ArithmeticError, TypeError, ValueError):
        return "" if value is None else str(value)


@register.filter
def line_source(line) -> str:
    return sentences.line_sentence(line)


@register.filter
def warning_sentence(warning) -> str:
    return warnings.warning_sentence(warning)
