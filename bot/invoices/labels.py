"""Words users put before a number, and what they say the number is (data).

Roles: the invoice field a label announces, or "distractor" for numbers that
must never become invoice fields. Longer phrases win over the words inside
them ("手机号码" is a distractor even though it contains "号码").
"""

import functools
import re
from enum import StrEnum


class Role(StrEnum):
    CODE = "code"
    NUMBER = "number"
    DATE = "date"
    CHECK = "check"
    AMOUNT_EXCLUDING = "excluding_tax"
    AMOUNT_TOTAL = "total"
    TAX_AMOUNT = "tax_amount"
    TAX_ID = "tax_id"
    BUYER_TAX_ID = "buyer_tax_id"
    DISTRACTOR = "distractor"


_TAX_ID_WORDS = [
    "统一社会信用代码",
    "社会信用代码",
    "信用代码",
    "纳税人识别号",
    "纳税识别号",
    "税务登记号",
    "识别号",
    "税号",
]
_BUYER_WORDS = ["购买方", "购货方", "付款方", "受票方", "购方", "买方"]

LABELS: dict[Role, list[str]] = {
    Role.BUYER_TAX_ID: [f"{b}(?:的)?{t}" for b in _BUYER_WORDS for t in _TAX_ID_WORDS],
    Role.TAX_ID: _TAX_ID_WORDS,
    Role.CODE: ["发票代码", "票据代码", "发票代号", "代码"],
    Role.NUMBER: [
        "数电票号码",
        "数电发票号码",
        "全电发票号码",
        "全电票号码",
        "数电号码",
        "全电号码",
        "发票号码",
        "票据号码",
        "发票编号",
        "发票号",
        "票号",
        "号码",
        "NO",
    ],
    Role.DATE: ["开票日期", "开具日期", "开票时间", "开票日", "日期"],
    Role.CHECK: ["校验码", "效验码", "较验码", "检验码", "校验号", "后六位", "末六位", "校验"],
    Role.AMOUNT_TOTAL: [
        "价税合计金额",
        "价税合计",
        "合计金额",
        "含税金额",
        "含税总额",
        "含税总价",
        "含税价",
        "含税",
        "总金额",
        "总额",
        "总价",
        "总计",
        "共计",
        "一共",
        "合计",
        "税后",
        "小写",
    ],
    Role.AMOUNT_EXCLUDING: [
        "不含税金额",
        "不含税价格",
        "不含税价",
        "不含税",
        "未税金额",
        "未税",
        "税前金额",
        "税前",
        "金额",
    ],
    Role.TAX_AMOUNT: ["税额", "税金", "税款", "税率"],
    Role.DISTRACTOR: [
        "订单编号",
        "订单号码",
        "订单号",
        "订单",
        "单号",
        "流水号",
        "交易号",
        "快递",
        "运单",
        "物流",
        "手机号码",
        "手机号",
        "手机",
        "电话号码",
        "电话",
        "座机",
        "联系方式",
        "联系",
        "热线",
        "客服",
        "拨打",
        "TEL",
        "微信号",
        "QQ",
        "银行账号",
        "银行卡号",
        "银行卡",
        "银行",
        "账号",
        "帐号",
        "账户",
        "卡号",
        "开户行",
        "身份证号码",
        "身份证号",
        "身份证",
        "证件号",
        "护照",
        "工号",
        "合同编号",
        "合同号",
        "客户号",
        "客户编号",
        "会员号",
        "编号",
        "邮编",
        "分机",
        "验证码",
        "工单",
        "凭证号",
        "报销单",
        "盘号",
        "机器编号",
        "序列号",
    ],
}

AMOUNT_ROLES = frozenset({Role.AMOUNT_EXCLUDING, Role.AMOUNT_TOTAL})

# Hints right after an amount: "1060元（含税）".
TRAILING_AMOUNT_HINTS: list[tuple[str, Role]] = [
    ("不含税", Role.AMOUNT_EXCLUDING),
    ("未税", Role.AMOUNT_EXCLUDING),
    ("税前", Role.AMOUNT_EXCLUDING),
    ("含税", Role.AMOUNT_TOTAL),
    ("价税合计", Role.AMOUNT_TOTAL),
    ("税后", Role.AMOUNT_TOTAL),
]

# Said right before a date to mean "issued on": the date is the issue date.
DATE_CONTEXT_WORDS = ("开票", "开具", "开的", "开了", "日期")


def _compile() -> re.Pattern:
    entries = [(phrase, role) for role, phrases in LABELS.items() for phrase in phrases]
    # Longest first so that "价税合计" wins over "合计" at the same position.
    entries.sort(key=lambda e: len(e[0]), reverse=True)
    parts = [f"(?P<r{i}>{phrase})" for i, (phrase, _role) in enumerate(entries)]
    return re.compile("|".join(parts)), [role for _phrase, role in entries]


LABEL_PATTERN, _LABEL_ROLES = _compile()


@functools.lru_cache(maxsize=4096)
def label_roles(text: str) -> tuple[tuple[int, Role], ...]:
    """Return (position, role) for every label in the text, in order."""
    # Cached: the gaps between numbers repeat ("号码", "，开票日期") and the
    # alternation of every phrase is the slowest pattern of the extraction.
    return tuple(
        (m.start(), _LABEL_ROLES[int(m.lastgroup[1:])]) for m in LABEL_PATTERN.finditer(text)
    )


# Messages that end an ongoing invoice check (the whole message, punctuation aside).
CANCEL_WORDS = frozenset(
    {
        "取消",
        "取消查验",
        "取消查询",
        "不查了",
        "不用查了",
        "不用了",
        "算了",
        "退出",
        "结束",
        "停止",
    }
)

# A request to check an invoice again tomorrow (the whole message, punctuation aside):
# "明天帮我复查", the quick reply the knowledge base offers, and its plain variants. It must
# say 复查 or 明天 (明早, 明日): "帮我查一下" asks for a check now.
RECHECK_REQUEST = re.compile(
    r"(?:请|麻烦)?(?:你)?(?:明天|明早|明日)?(?:再)?(?:帮我|帮忙|给我)?(?:明天|明早|明日)?(?:再)?"
    r"(?:复查|再查|查)(?:一下|一次|下)?(?:吧|呀|啊)?"
)
RECHECK_MUST_SAY = ("复查", "明天", "明早", "明日")

# The label to read a bare answer with, by the field the bot asked for ("123456" after
# "还需要校验码后6位" is a check code).
ANSWER_LABELS: dict[str, str] = {
    "identity": "发票号码",
    "invoice_code": "发票代码",
    "invoice_number": "发票号码",
    "issue_date": "开票日期",
    "check_code": "校验码",
    "amount_excluding_tax": "不含税金额",
    "total_including_tax": "价税合计",
    "vehicle_price": "不含税价",
}
