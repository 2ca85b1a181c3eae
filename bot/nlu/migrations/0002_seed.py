from django.db import migrations


def seed(apps, schema_editor):
    # The first seed, frozen: later seed changes arrive as deltas of their own migrations.
    from bot.nlu.seed import load_history, seed_apply

    seed_apply(apps, load_history("kb_0002"))


class Migration(migrations.Migration):
    dependencies = [("nlu", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
