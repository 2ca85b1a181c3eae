from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_sort_indexes")]

    operations = [
        migrations.AddField(
            model_name="agentprofile",
            name="display_name",
            field=models.CharField(blank=True, max_length=50, verbose_name="对外显示名"),
        ),
    ]
