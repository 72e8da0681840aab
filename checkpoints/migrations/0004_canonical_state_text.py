"""Checkpoint states are written as canonical JSON (selfplay.canonical.CanonicalJSONEncoder).

The encoder is Python only: the column stays as it is (SQLite would otherwise copy the whole
table for it), and rows written before read back the same.
"""

from django.db import migrations, models

import selfplay.canonical


class Migration(migrations.Migration):

    dependencies = [
        ("checkpoints", "0003_token_issued_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name="checkpoint",
                name="state",
                field=models.JSONField(blank=True, encoder=selfplay.canonical.CanonicalJSONEncoder, null=True),
            ),
        ]),
    ]
