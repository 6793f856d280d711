from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class CunyiAdminSite(admin.AdminSite):
    """The admin whose index page is the health bureau's dashboard."""

    site_header = "村医 Cunyi · 乐业县村卫生室管理"
    site_title = "村医 Cunyi"
    index_title = _("Where the county stands today")
    index_template = "dashboard/index.html"

    def index(self, request, extra_context=None):
        from dashboard.selectors import dashboard_get

        context = {
            "dashboard": dashboard_get(
                user=request.user,
                clinic_code=request.GET.get("clinic") or None,
                township_code=request.GET.get("township") or None,
            )
        }
        context.update(extra_context or {})
        return super().index(request, context)
