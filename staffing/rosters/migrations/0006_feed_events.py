# The calendar feed as calendar apps expect it: the doctor's reminder and language choices on the
# feed, and the record of duties that changed after publication (FeedEvent: cancelled or given,
# with the event's SEQUENCE). FeedEvent holds only amended days; DutyDay is not touched.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import staffing.rosters.models


class Migration(migrations.Migration):
    dependencies = [
        ("clinics", "0001_initial"),
        ("staffing", "0001_initial"),
        ("rosters", "0005_fewer_fk_checks"),
    ]

    operations = [
        migrations.AddField(
            model_name="calendarfeed",
            name="alarm",
            field=models.BooleanField(default=True, verbose_name="remind me before each duty"),
        ),
        migrations.AddField(
            model_name="calendarfeed",
            name="alarm_minutes",
            field=models.PositiveSmallIntegerField(
                default=staffing.rosters.models.default_alarm_minutes, verbose_name="minutes before the duty"
            ),
        ),
        migrations.AddField(
            model_name="calendarfeed",
            name="language",
            field=models.CharField(
                choices=[("zh-hans", "简体中文"), ("en", "English")],
                default="zh-hans",
                max_length=10,
                verbose_name="language of the events",
            ),
        ),
        migrations.AddField(
            model_name="calendarfeed",
            name="updated_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="settings changed"),
        ),
        migrations.AddConstraint(
            model_name="calendarfeed",
            constraint=models.CheckConstraint(
                condition=models.Q(("alarm_minutes__gte", 1), ("alarm_minutes__lte", 10080)),
                name="feed_alarm_within_a_week",
                violation_error_message="The reminder must be between 1 minute and 7 days before the duty.",
            ),
        ),
        migrations.CreateModel(
            name="FeedEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("date", models.DateField(verbose_name="date")),
                (
                    "duty",
                    models.CharField(choices=[("day", "Day duty"), ("on_call", "On call")], max_length=10, verbose_name="duty"),
                ),
                (
                    "day_kind",
                    models.CharField(
                        choices=[("workday", "Workday"), ("weekend", "Weekend"), ("holiday", "Public holiday")],
                        max_length=10,
                        verbose_name="kind of day",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("confirmed", "Confirmed"), ("cancelled", "Cancelled")], max_length=10, verbose_name="status"
                    ),
                ),
                ("sequence", models.PositiveIntegerField(default=0, verbose_name="revision")),
                ("modified", models.DateTimeField(default=django.utils.timezone.now, verbose_name="changed")),
                (
                    "doctor",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="staffing.doctor",
                        verbose_name="doctor",
                    ),
                ),
                (
                    "facility",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="clinics.facility",
                        verbose_name="clinic",
                    ),
                ),
            ],
            options={
                "verbose_name": "calendar feed change",
                "verbose_name_plural": "calendar feed changes",
                "ordering": ["doctor_id", "date"],
                "constraints": [
                    models.UniqueConstraint(fields=("doctor", "date", "duty"), name="one_feed_event_per_doctor_day_duty")
                ],
            },
        ),
    ]
