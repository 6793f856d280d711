"""The admin app with Cunyi's site, and two corrections to how Django's admin shows values (each
list column and read-only field goes through them): a boolean's icon says 是/否 to a screen reader
instead of "True"/"False", and an amount (a DecimalField) reads grouped, 1,234,567.50 — the zh_Hans
formats in config/formats — while USE_THOUSAND_SEPARATOR stays off so ids in links are never grouped."""

from django.contrib.admin.apps import AdminConfig


class CunyiAdminConfig(AdminConfig):
    default_site = "config.admin_site.CunyiAdminSite"

    def ready(self):
        super().ready()
        from django.contrib.admin import helpers, utils
        from django.contrib.admin.templatetags import admin_list

        admin_list._boolean_icon = _boolean_icon  # utils.display_for_field imports it from there at each call
        original = utils.display_for_field

        def display_for_field(value, field, empty_value_display, avoid_link=False):
            from django.db import models
            from django.utils import formats

            if isinstance(field, models.DecimalField) and value is not None and not getattr(field, "flatchoices", None):
                return formats.number_format(value, field.decimal_places, force_grouping=True)
            return original(value, field, empty_value_display, avoid_link=avoid_link)

        for module in (utils, helpers, admin_list):
            module.display_for_field = display_for_field


def _boolean_icon(field_val):
    """Django's yes/no/unknown icon of a boolean column, with a Chinese alt text (Django writes
    alt="True", which a screen reader reads out in English)."""
    from django.templatetags.static import static
    from django.utils.html import format_html
    from django.utils.translation import pgettext

    icon = {True: "yes", False: "no", None: "unknown"}[field_val]
    label = {True: pgettext("boolean icon", "Yes"), False: pgettext("boolean icon", "No"),
             None: pgettext("boolean icon", "Unknown")}[field_val]  # fmt: skip
    return format_html('<img src="{}" alt="{}">', static(f"admin/img/icon-{icon}.svg"), label)
