from django.db import migrations, models


def add_missing_replies(apps, schema_editor):
    # Only the new system replies: re-running the whole seed would bring back
    # entries an operator deleted on purpose.
    from bot.nlu.seed import load_seed

    reply_model = apps.get_model("nlu", "ReplyTemplate")
    for key, text in load_seed()["replies"].items():
        reply_model.objects.get_or_create(key=key, defaults={"text": text})


class Migration(migrations.Migration):
    dependencies = [
        ("nlu", "0002_seed"),
    ]

    operations = [
        migrations.AlterField(
            model_name="replytemplate",
            name="key",
            field=models.CharField(
                choices=[
                    ("oos", "超出范围"),
                    ("offer_human", "连续未识别，建议转人工"),
                    ("clarify", "反问确认（您是想问……吗）"),
                    ("still_unsolved", "追问仍未解决"),
                    ("voice_unrecognised", "语音未识别"),
                    ("empty", "空消息"),
                    ("options", "快捷回复提示（{options} 处列出选项）"),
                    ("human_label", "“转人工”选项的文字"),
                    ("still_unsolved_options", "追问仍未解决时的选项（每行一个）"),
                ],
                max_length=30,
                unique=True,
                verbose_name="用途",
            ),
        ),
        migrations.RunPython(add_missing_replies, migrations.RunPython.noop),
    ]
