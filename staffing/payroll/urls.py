from django.urls import path

from staffing.payroll import views

app_name = "payroll"
urlpatterns = [
    path("", views.payslip_index, name="index"),
    path("<int:pk>/", views.payslip_detail, name="payslip"),
    path("<int:pk>/pdf/", views.payslip_pdf, name="payslip_pdf"),
]
