"""Move player API tokens kept in plain text by rest_framework.authtoken to hashed PlayerTokens.

Each old key keeps working (its SHA-256 is stored, with its first characters as the prefix);
the plain-text rows are then deleted. rest_framework.authtoken is no longer installed, so its
table is reached directly, and only when a database still has it.
"""

import hashlib

from django.db import migrations


def hash_legacy_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    PlayerToken = apps.get_model("agents", "PlayerToken")
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id FROM authtoken_token")
        rows = cursor.fetchall()
        PlayerToken.objects.bulk_create([
            PlayerToken(user_id=user_id, prefix=key[:12], digest=hashlib.sha256(key.encode()).hexdigest())
            for key, user_id in rows
        ], ignore_conflicts=True)
        cursor.execute("DELETE FROM authtoken_token")


class Migration(migrations.Migration):
    dependencies = [("agents", "0004_player_tokens")]

    operations = [migrations.RunPython(hash_legacy_tokens, migrations.RunPython.noop)]
