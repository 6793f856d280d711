from rest_framework.routers import SimpleRouter

from staffing.payroll.api import PayslipViewSet
from staffing.payroll.inputs_api import AssessmentViewSet, OneOffItemViewSet

router = SimpleRouter()
router.register("payslips", PayslipViewSet, basename="payslip")
router.register("assessments", AssessmentViewSet, basename="assessment")
router.register("one-off-items", OneOffItemViewSet, basename="one-off-item")
urlpatterns = router.urls
