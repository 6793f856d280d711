from django.db import migrations


def seed(apps, schema_editor):
    from notifications.default_templates import DEFAULT_TEMPLATES

    NotificationTemplate = apps.get_model("notifications", "NotificationTemplate")
    for kind, (subject, body) in DEFAULT_TEMPLATES.items():
        NotificationTemplate.objects.get_or_create(kind=kind, defaults={"subject": subject, "body": body})


def unseed(apps, schema_editor):
    from notifications.default_templates import DEFAULT_TEMPLATES

    NotificationTemplate = apps.get_model("notifications", "NotificationTemplate")
    NotificationTemplate.objects.filter(kind__in=list(DEFAULT_TEMPLATES)).delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
