"""The dashboard's words for codes: intents (the KB's own names) and diagnosed causes."""

from bot.invoices.diagnosis import Diagnosis
from bot.nlu.models import Intent

CAUSES = {
    Diagnosis.VALID: "查验一致",
    Diagnosis.NOT_BEIJING: "非北京发票",
    Diagnosis.DIGITAL_SPLIT: "数电票号码拆分",
    Diagnosis.WRONG_AMOUNT_KIND: "金额类型填错",
    Diagnosis.MISSING_FIELDS: "信息不全",
    Diagnosis.BAD_INPUT: "格式不正确",
    Diagnosis.BAD_DATE: "开票日期有误",
    Diagnosis.ISSUED_TODAY: "当天开具",
    Diagnosis.NOT_UPLOADED: "开票方未上传",
    Diagnosis.NOT_FOUND_RECENT: "新开票未同步",
    Diagnosis.NOT_FOUND: "查无此票",
    Diagnosis.VOIDED: "已作废",
    Diagnosis.RED_FLUSHED: "已红冲",
    Diagnosis.PARTLY_RED_FLUSHED: "部分红冲",
    Diagnosis.CHECK_LIMIT: "超过查验次数",
    Diagnosis.TOO_OLD: "超过五年",
    Diagnosis.NOT_VAT_DOCUMENT: "非增值税发票",
    Diagnosis.MISMATCH: "信息不一致",
    Diagnosis.UPSTREAM_UNAVAILABLE: "查验平台异常",
}


def labels() -> dict:
    return {
        "intents": dict(Intent.objects.values_list("id", "name")),
        "causes": {str(k): v for k, v in CAUSES.items()},
    }
