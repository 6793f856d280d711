from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from clinics import password_change
from config import views
from core import pwa
from operations import views as operations_views

portal_patterns = (
    [
        path("", views.portal_home, name="home"),
        path("login/", auth_views.LoginView.as_view(template_name="portal/login.html"), name="login"),
        path("logout/", pwa.LogoutView.as_view(), name="logout"),
        path("password/", password_change.password_set, name="password_set"),
        path("sw.js", pwa.service_worker, name="sw"),
        path("manifest.webmanifest", pwa.manifest, name="manifest"),
    ],
    "portal",
)

api_v1 = [
    path("", include("clinics.api_urls")),
    path("", include("clinics.settlements.api_urls")),
    path("", include("staffing.api_urls")),
    path("", include("staffing.rosters.api_urls")),
    path("payroll/", include("staffing.payroll.api_urls")),
    path("teleconsult/", include("telemedicine.api_urls")),
    path("", include("notifications.api_urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:home", permanent=False)),
    path("favicon.ico", views.favicon, name="favicon"),
    path("health/", operations_views.health, name="health"),
    path("ops/", include("operations.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("m/", include(portal_patterns)),
    path("m/duty/", include("staffing.rosters.urls")),
    path("m/pay/", include("staffing.payroll.urls")),
    path("m/consult/", include("telemedicine.urls")),
    path("m/inbox/", include("notifications.urls")),
]

# Under /api/ every error is JSON in the API's one error shape (core.api); elsewhere Django's pages,
# except the refusal: a Chinese page naming the roles that may open it (config.views).
handler400 = "core.api.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "core.api.page_not_found"
handler500 = "core.api.server_error"
