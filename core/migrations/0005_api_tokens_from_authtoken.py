# The API tokens of rest_framework.authtoken (stored in plain text, never expiring) moved to
# django-rest-knox's table (issue 17): each key is stored as knox stores a token, its first 15
# characters and its SHA-512 digest, so a terminal keeps working with the token it has, until the
# expiry given here (API_TOKEN_TTL_DAYS from the migration). Then the plain-text table is dropped
# and authtoken's rows in django_migrations removed (the app is no longer installed).
#
# Reverse: nothing to undo that can be undone (the plain keys are gone); the knox rows stay.

import datetime

from django.conf import settings
from django.db import migrations
from django.utils import timezone
from django.utils.dateparse import parse_datetime

OLD_TABLE = "authtoken_token"


def move_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return  # a database made after authtoken was removed
    AuthToken = apps.get_model("knox", "AuthToken")
    quoted = schema_editor.quote_name(OLD_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {schema_editor.quote_name('key')}, user_id, created FROM {quoted}")
        rows = cursor.fetchall()
    expiry = timezone.now() + datetime.timedelta(days=settings.API_TOKEN_TTL_DAYS)
    moved = [
        AuthToken(digest=hash_token(key), token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user_id=user_id, expiry=expiry)
        for key, user_id, _created in rows
    ]
    AuthToken.objects.bulk_create(moved, ignore_conflicts=True)
    for token, (_key, _user_id, created) in zip(moved, rows, strict=True):
        if isinstance(created, str):
            created = parse_datetime(created)
        if created is not None:  # auto_now_add would say "today"; keep when it was made
            if timezone.is_naive(created):
                created = timezone.make_aware(created, datetime.timezone.utc)
            AuthToken.objects.filter(digest=token.digest).update(created=created)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {quoted}")
        cursor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_idempotency"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(move_tokens, migrations.RunPython.noop, elidable=True)]
