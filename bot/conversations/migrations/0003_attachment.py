import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("conversations", "0002_content_types")]

    operations = [
        migrations.CreateModel(
            name="Attachment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("image", "图片"), ("voice", "语音")], max_length=10, verbose_name="类型")),
                ("file", models.FileField(upload_to="conversations/%Y/%m/%d/", verbose_name="文件")),
                ("content_type", models.CharField(max_length=100, verbose_name="内容类型")),
                ("size", models.PositiveIntegerField(default=0, verbose_name="大小（字节）")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="保存时间")),
                (
                    "message",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attachments",
                        to="conversations.message",
                        verbose_name="消息",
                    ),
                ),
            ],
            options={
                "verbose_name": "附件",
                "verbose_name_plural": "附件",
                "constraints": [
                    models.UniqueConstraint(fields=("message", "kind"), name="conversations_attachment_once")
                ],
            },
        ),
    ]
