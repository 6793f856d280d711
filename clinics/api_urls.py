from rest_framework.routers import SimpleRouter

from clinics.api import TownshipViewSet

router = SimpleRouter()
router.register("townships", TownshipViewSet, basename="township")
urlpatterns = router.urls
