"""Keep the moved models' content types (and so permissions and admin history)."""

from django.db import migrations

MODELS = ["follower", "followertag", "message"]


def forwards(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    # A database migrated before the move has them under "wechat"; a new one has none yet.
    if not content_type.objects.filter(app_label="conversations", model__in=MODELS).exists():
        content_type.objects.filter(app_label="wechat", model__in=MODELS).update(
            app_label="conversations"
        )


def backwards(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="conversations", model__in=MODELS).update(
        app_label="wechat"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
