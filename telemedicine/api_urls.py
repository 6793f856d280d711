from rest_framework.routers import SimpleRouter

from telemedicine.api import BookingViewSet, DepartmentViewSet, SlotViewSet

router = SimpleRouter()
router.register("departments", DepartmentViewSet, basename="teleconsult-department")
router.register("slots", SlotViewSet, basename="teleconsult-slot")
router.register("bookings", BookingViewSet, basename="teleconsult-booking")

urlpatterns = router.urls
