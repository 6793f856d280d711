from django.urls import path
from rest_framework.routers import SimpleRouter

from staffing.rosters import api

router = SimpleRouter()
router.register("rosters/leave", api.LeaveRequestViewSet, basename="roster-leave")
router.register("rosters/swaps", api.SwapRequestViewSet, basename="roster-swap")
router.register("rosters/gaps", api.GapViewSet, basename="roster-gap")

urlpatterns = [
    path("rosters/", api.RosterView.as_view(), name="roster-list"),
    path("rosters/generate/", api.GenerateView.as_view(), name="roster-generate"),
    path("rosters/publish/", api.PublishView.as_view(), name="roster-publish"),
    path("rosters/summary/", api.SummaryView.as_view(), name="roster-summary"),
    path("rosters/summary/xlsx/", api.SummaryXlsxView.as_view(), name="roster-summary-xlsx"),
    *router.urls,
]
