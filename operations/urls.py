from django.urls import path

from operations import views

app_name = "operations"

urlpatterns = [
    path("jobs/", views.my_jobs, name="job-list"),
    path("jobs/<int:job_id>/", views.job_detail, name="job-detail"),
    path("jobs/<int:job_id>/state/", views.job_state_json, name="job-state"),
    path("jobs/<int:job_id>/file/", views.job_file, name="job-file"),
]
