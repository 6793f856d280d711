from rest_framework.routers import SimpleRouter

from staffing.api import ClinicViewSet, DoctorViewSet

router = SimpleRouter()
router.register("clinics", ClinicViewSet, basename="clinic")
router.register("doctors", DoctorViewSet, basename="doctor")
urlpatterns = router.urls
