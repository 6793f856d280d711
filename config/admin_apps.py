from django.contrib.admin.apps import AdminConfig


class CunyiAdminConfig(AdminConfig):
    default_site = "config.admin_site.CunyiAdminSite"
