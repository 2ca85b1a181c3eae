"""Seed the standard queues, their SLA targets and a few canned responses (editable in admin)."""

from django.db import migrations

QUEUES = [
    (
        "发票查验",
        "verify",
        True,
        [
            "human_agent", "invoice_not_found", "verify_invoice", "sync_delay",
            "void_red_status", "info_mismatch", "check_limit", "digital_invoice",
            "cross_region", "reimbursement_import", "ticket_status", "oos",
        ],
    ),
    (
        "开票问题",
        "issuing",
        False,
        ["issuing_problem", "paper_alternative", "system_outage", "download_invoice"],
    ),
    ("投诉", "complaint", False, ["complaint", "feedback"]),
]
# priority: (first response, resolution) in business minutes (a working day is 540).
TARGETS = {
    "urgent": (15, 240),
    "high": (30, 540),
    "normal": (60, 1080),
    "low": (240, 2700),
}
CANNED = [
    (
        "已收到，正在核查",
        "{nickname}，您好！工单 {ticket_number} 已由我（{agent_name}）跟进，"
        "正在核查发票 {invoice_number} 的情况，有结果会第一时间告诉您。",
    ),
    (
        "请补充发票信息",
        "您好！为核查工单 {ticket_number}，请补充发票代码、发票号码、开票日期和金额"
        "（数电票只需 20 位号码、日期和价税合计），或直接发送发票照片。",
    ),
    (
        "请联系开票方上传",
        "您好！经核查，发票 {invoice_number} 尚未上传到税务系统，请联系开票方确认已上传，"
        "上传后一般 24 小时内可查验。",
    ),
]


def seed(apps, schema_editor):
    Queue = apps.get_model("tickets", "Queue")
    SlaTarget = apps.get_model("tickets", "SlaTarget")
    CannedResponse = apps.get_model("tickets", "CannedResponse")
    for name, slug, default, categories in QUEUES:
        queue, _ = Queue.objects.get_or_create(
            slug=slug, defaults={"name": name, "is_default": default, "categories": categories}
        )
        for priority, (first, resolution) in TARGETS.items():
            SlaTarget.objects.get_or_create(
                queue=queue,
                priority=priority,
                defaults={"first_response_minutes": first, "resolution_minutes": resolution},
            )
    for title, text in CANNED:
        CannedResponse.objects.get_or_create(title=title, defaults={"text": text})


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
