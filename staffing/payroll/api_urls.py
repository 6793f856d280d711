from rest_framework.routers import SimpleRouter

from staffing.payroll.api import PayslipViewSet

router = SimpleRouter()
router.register("payslips", PayslipViewSet, basename="payslip")
urlpatterns = router.urls
