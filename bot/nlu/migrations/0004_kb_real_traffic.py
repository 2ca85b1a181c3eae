from django.db import migrations, models


def apply_delta(apps, schema_editor):
    # Issue #12: seller side, e-tax accounts, jargon, neighbouring tax topics,
    # platform messages. A frozen delta: operators' edits are kept (see bot/nlu/seed).
    from bot.nlu.seed import load_history, seed_delta_apply

    seed_delta_apply(apps, load_history("delta_0004"))


class Migration(migrations.Migration):
    dependencies = [
        ("nlu", "0003_reply_keys"),
    ]

    operations = [
        migrations.AlterField(
            model_name="keyword",
            name="word",
            field=models.CharField(
                help_text="普通词；用“+”连接表示须同时出现（如 刚+开票）；“re:”开头为正则；"
                "“@fields2”等表示消息中带有发票字段；类型为“平台提示原文”时填平台的提示语，"
                "用户引用（含个别字不同）即命中。",
                max_length=200,
                verbose_name="关键词",
            ),
        ),
        migrations.AlterField(
            model_name="keyword",
            name="kind",
            field=models.CharField(
                choices=[
                    ("boost", "加分"),
                    ("required", "必需"),
                    ("negative", "减分"),
                    ("message", "平台提示原文"),
                ],
                default="boost",
                max_length=10,
                verbose_name="类型",
            ),
        ),
        migrations.RunPython(apply_delta, migrations.RunPython.noop),
    ]
