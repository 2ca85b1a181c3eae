from django.db import migrations


def seed(apps, schema_editor):
    from bot.nlu.seed import seed_apply

    seed_apply(apps)


class Migration(migrations.Migration):
    dependencies = [("nlu", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
