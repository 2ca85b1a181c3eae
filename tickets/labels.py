"""Words for the codes agents would otherwise see (categories, reasons, audited values)."""

from tickets.models import Priority, Ticket

CATEGORY_LABELS = {
    "human_agent": "用户请求人工",
    "invoice_not_found": "发票查不到",
    "verify_invoice": "发票查验",
    "sync_delay": "发票尚未同步",
    "void_red_status": "作废/红冲",
    "info_mismatch": "信息不一致",
    "check_limit": "查验次数超限",
    "digital_invoice": "数电发票",
    "cross_region": "非北京发票",
    "reimbursement_import": "报销导入",
    "issuing_problem": "开票问题",
    "paper_alternative": "纸质发票替代",
    "system_outage": "系统故障",
    "download_invoice": "发票下载",
    "ticket_status": "工单进度",
    "complaint": "投诉",
    "feedback": "意见建议",
    "oos": "其他问题",
}
REASON_LABELS = {
    "asked": "用户要求",
    "complaint": "用户投诉",
    "missed": "机器人未能回答",
    "diagnosis": "诊断需人工",
    "watch_expired": "跟踪到期",
}
_VALUE_LABELS = {**dict(Ticket.Status.choices), **dict(Priority.choices)}


def category_label(code: str) -> str:
    return CATEGORY_LABELS.get(code, code or "—")


def reason_label(code: str) -> str:
    return REASON_LABELS.get(code, code or "—")


def value_label(value, *, queues: dict[str, str] | None = None) -> str:
    """An audited from/to value in words (statuses, priorities, queues); others as they are."""
    if isinstance(value, str):
        return _VALUE_LABELS.get(value) or (queues or {}).get(value, value)
    return "" if value is None else str(value)
