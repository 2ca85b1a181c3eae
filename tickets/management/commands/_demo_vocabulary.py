"""What `seed_demo` writes: categories, openers, replies, nicknames and their weights.

Simplified Chinese as users and agents write it; every list is sampled with weights by
the generator in seed_demo.py.
"""

import math

# Intent ids (shared/nlu/intents.md) and how often each ends with a person.
CATEGORIES = {
    "invoice_not_found": 28, "sync_delay": 12, "verify_invoice": 8, "info_mismatch": 7,
    "digital_invoice": 8, "void_red_status": 5, "reimbursement_import": 6, "cross_region": 4,
    "check_limit": 3, "human_agent": 8, "issuing_problem": 5, "download_invoice": 2,
    "system_outage": 1, "paper_alternative": 1, "complaint": 2, "feedback": 1,
}  # fmt: skip
NO_INVOICE = {"human_agent", "complaint", "feedback", "system_outage", "check_limit"}
# Requester openers per intent, "|"-separated.
OPENERS = {
    "invoice_not_found": "发票{n}查验显示查无此票，怎么回事？|查验平台说查无此票|这张票查不到：{n}",
    "sync_delay": "昨天刚开的发票为什么查不到|对方说已经开了，但是{n}查不到|开票后多久能查验？",
    "verify_invoice": "帮我查一下这张发票{n}|怎么查验发票真伪|发票{n}，{d}开的，帮忙查验",
    "info_mismatch": "查验提示信息不一致|{n}输入金额后说不一致|开票日期和金额都对，还是不一致",
    "digital_invoice": "数电票没有发票代码怎么查|全电发票{n}怎么查验|数电票只有20位号码",
    "void_red_status": "发票{n}显示作废|查验结果是红冲，报销怎么办|为什么我的发票状态是作废",
    "reimbursement_import": "报销系统导入发票失败|单位报销系统说发票不存在：{n}|财务系统验不过",
    "cross_region": "上海开的发票在北京能查吗|外地发票{n}查不到|深圳的票怎么查验",
    "check_limit": "今天查验次数超了|提示超过查验次数|一张票能查几次",
    "human_agent": "转人工|人工客服|我要找人工|有没有人工",
    "issuing_problem": "开票方说系统开不出票|电子税务局开票报错|开票额度不够怎么办",
    "download_invoice": "发票在哪里下载|数电票怎么下载PDF|收不到发票邮件",
    "system_outage": "查验平台打不开|电子税务局登录不上|网站一直转圈",
    "paper_alternative": "能开纸质发票吗|对方只给纸票，可以报销吗",
    "complaint": "等了三天还没人处理！|你们这个太慢了，我要投诉|打12366也没人接",
    "feedback": "建议查验页面做得简单点|机器人回答不了我的问题",
}
OPENERS = {k: v.split("|") for k, v in OPENERS.items()}
BOT_ANSWERS = [
    "新开具的发票一般次日可查验，请24小时后再试。",
    "请核对发票号码、开票日期和价税合计后重新查验。数电票不填发票代码，直接输入20位号码。",
    "查无此票常见原因：发票尚未上传、信息录入有误、非北京地区发票。",
    "请发送发票照片或二维码，我来帮您识别发票信息。",
    "这个问题我暂时无法解答，您可以回复“转人工”联系客服。",
]
USER_FOLLOWUPS = ["还是不行", "转人工", "试过了，还是查不到", "我已经等了两天了", "能帮我看一下吗"]
USER_DETAILS = [
    "开票日期{d}，价税合计{a}元", "发票号码是{n}", "[图片]", "对方说已经上传了",
    "公司报销这周五截止，比较急", "好的，我去联系开票方", "是北京的公司开的",
]  # fmt: skip
USER_CLOSERS = ["好的，谢谢", "可以查到了，谢谢！", "收到", "明白了", "嗯嗯，辛苦了"]
AGENT_REPLIES = [
    "您好，我是客服，已收到您的问题，正在为您核查发票{n}。",
    "经核查，该发票尚未上传到税务系统，请联系开票方确认上传，一般24小时内可查验。",
    "请您核对开票日期和价税合计（含税金额）后再查验一次。",
    "已为您反馈到主管税务机关，处理后会第一时间通知您。",
    "该发票为外地开具，请在全国增值税发票查验平台查验。",
    "请提供发票照片，方便我们进一步核实。",
]
NOTES = ["已电话联系开票方，对方称今日补传", "疑似录入错误，已提醒用户核对金额", "同一用户重复来电"]
NICK_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
NICK_GIVEN = ["芳", "伟", "静", "磊", "敏", "洋", "婷", "强", "丽", "军", "欣怡", "子涵", "浩然"]
NICK_WORDS = ["向日葵", "阳光", "小鱼儿", "清风", "财务小", "行政-", "A北京", "会计", "Lily"]
TAGS = ["数电票", "加急", "重复来电", "开票方未上传", "跨区域", "报销截止"]
RESULTS = ["查无此票", "查无此票", "查无此票", "不一致", "作废", "红冲", "一致"]
# Ticket status by age in days: (upper bound, [(status, weight), ...]).
STATUS_BY_AGE = [
    (1, [("new", 25), ("open", 40), ("pending", 15), ("resolved", 20)]),
    (3, [("new", 4), ("open", 30), ("pending", 20), ("resolved", 46)]),
    (10, [("open", 6), ("pending", 8), ("resolved", 40), ("closed", 46)]),
    (math.inf, [("closed", 100)]),
]
PRIORITIES = [("normal", 70), ("high", 14), ("low", 11), ("urgent", 5)]
DEMO_AGENTS = {"verify": 8, "issuing": 3, "complaint": 2}
