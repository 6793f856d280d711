"""`{% load cunyi_imports %}{% empty_cell_rule "update" %}`: the empty-cell rule an import page
shows, from its one home in core.imports."""

from django import template

from core.imports import empty_cell_rule as rule_text

register = template.Library()


@register.simple_tag
def empty_cell_rule(kind: str = "update") -> str:
    return rule_text(kind)
