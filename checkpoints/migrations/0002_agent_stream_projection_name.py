"""The per-agent-stream projection is named `agent_stream` (it was `agent`, one letter from `agents`)."""

from django.db import migrations


def rename(apps, schema_editor, old="agent", new="agent_stream"):
    Projection = apps.get_model("events", "Projection")
    Projection.objects.filter(name=old).update(name=new)


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, old="agent_stream", new="agent")


class Migration(migrations.Migration):
    dependencies = [("checkpoints", "0001_initial"), ("events", "0004_anchors_and_forward_only_heads")]

    operations = [migrations.RunPython(rename, rename_back)]
