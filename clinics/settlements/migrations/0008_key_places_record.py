"""Cheaper bulk loads of the log (an import of 200,000 rows spent half its database time in index
maintenance):

- the key table says where each settlement lies in the log (clinic and time), and the log loses
  its own setl_id index: a lookup by setl_id goes key → partition (time) → the clinic's range;
- the log's (facility_id, settled_at) index becomes (facility_id, id): rows arrive in id order, so
  an insert lands at the end of its clinic's range instead of anywhere in it."""

from django.db import migrations, models


def place_keys(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE settlements_settlementkey DISABLE TRIGGER settlements_key_append_only")
            cursor.execute(
                "UPDATE settlements_settlementkey k SET facility_id = r.facility_id "
                "FROM settlements_settlementrecord r WHERE r.setl_id = k.setl_id AND r.settled_at = k.settled_at"
            )
            cursor.execute("ALTER TABLE settlements_settlementkey ENABLE TRIGGER settlements_key_append_only")
        else:
            cursor.execute(
                "UPDATE settlements_settlementkey SET facility_id = (SELECT r.facility_id "
                "FROM settlements_settlementrecord r WHERE r.setl_id = settlements_settlementkey.setl_id LIMIT 1)"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0007_log_without_facility_fk"),
    ]

    operations = [
        migrations.AddField(
            model_name="settlementkey",
            name="facility_id",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="clinic"),
        ),
        migrations.RunPython(place_keys, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="settlementrecord",
            name="settlements_record_setl_id",
        ),
        migrations.RemoveIndex(
            model_name="settlementrecord",
            name="settlements_record_fac_time",
        ),
        migrations.AddIndex(
            model_name="settlementrecord",
            index=models.Index(fields=["facility", "id"], name="settlements_record_fac_id"),
        ),
    ]
