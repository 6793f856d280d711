from django.urls import path

from telemedicine import views

app_name = "telemedicine"
urlpatterns = [
    path("", views.my_bookings, name="my_bookings"),
    path("book/", views.find_slots, name="find_slots"),
    path("book/<int:slot_id>/", views.book, name="book"),
    path("schedule/", views.schedule, name="schedule"),
    path("queue/", views.queue, name="queue"),
    path("room/<str:token>/", views.room, name="room"),
    path("<int:pk>/", views.booking_detail, name="booking_detail"),
    path("<int:pk>/confirm/", views.confirm, name="confirm"),
    path("<int:pk>/decline/", views.decline, name="decline"),
    path("<int:pk>/start/", views.start, name="start"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/reschedule/", views.reschedule, name="reschedule"),
    path("<int:pk>/outcome/", views.outcome, name="outcome"),
]
