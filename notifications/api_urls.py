from django.urls import path
from rest_framework.routers import SimpleRouter

from notifications.api import NotificationViewSet, PreferenceView

router = SimpleRouter()
router.register("notifications", NotificationViewSet, basename="notification")
urlpatterns = [
    path("notifications/preferences/", PreferenceView.as_view(), name="notification-preferences"),
    *router.urls,
]
