from django.urls import path

from staffing.rosters import feed_views, views

app_name = "rosters"
urlpatterns = [
    path("", views.my_duty, name="my-duty"),
    path("leave/", views.leave_new, name="leave-new"),
    path("leave/<int:pk>/withdraw/", views.leave_withdraw, name="leave-withdraw"),
    path("swap/", views.swap_new, name="swap-new"),
    path("swap/<int:pk>/answer/", views.swap_answer, name="swap-answer"),
    path("swap/<int:pk>/withdraw/", views.swap_withdraw, name="swap-withdraw"),
    path("calendar/reset/", views.feed_reset, name="feed-reset"),
    path("calendar/settings/", feed_views.feed_settings, name="feed-settings"),
    path("ical/<str:token>.ics", feed_views.ical_feed, name="ical"),
]
