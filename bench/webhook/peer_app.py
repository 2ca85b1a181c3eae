"""The same-job peer: a WeRoBot bot doing our webhook's job in the simplest honest way.

Where werobot_app.py is the far anchor (it stores nothing), this app does what ours
must do for every text message, and nothing more:

- understand it: jieba segments the text (the dictionary is loaded at import, that is
  when a gunicorn worker starts) and the words are matched against a small
  keyword -> answer table of invoice-support answers; no match gets a fixed help text;
- store it, in PostgreSQL, in one transaction per message: the follower (upserted by
  openid, with last_interaction_at), the inbound message and the reply, deduplicated by
  a UNIQUE (openid, msg_id) constraint: a retry of a MsgId already stored gets the
  stored reply and stores nothing new;
- answer only after the commit, so every answer given is an answer stored.

psycopg 3, one connection per thread (thread-local, opened on first use), autocommit
off, `with conn.transaction()`. The tables are created at import if missing; run.py
drops them before each run of this app so that every run starts empty. The database
is the one in DATABASE_URL, the variable run.py sets for our app too.

The reply goes back with FromUserName = the message's ToUserName, as WeRoBot does for
every reply (wechat.lua reads the MsgId there).
"""

import logging
import os
import threading

import jieba
import psycopg
import werobot
from werobot.replies import TextReply

DSN = os.environ["DATABASE_URL"]

# Ordered: the first entry with a keyword among the message's words answers, so the
# specific entries come before the general ones.
ANSWERS: list[tuple[tuple[str, ...], str]] = [
    (
        ("作废", "已作废"),
        "查验结果显示“已作废”，说明开票方已将这张发票作废，作废的发票不能报销或抵扣。"
        "请联系开票方确认，并请对方重新开具一张正确的发票。",
    ),
    (
        ("红冲", "红字", "冲红"),
        "发票被红冲，是开票方开具了对应的红字发票，原蓝字发票已全额或部分冲销。"
        "已冲销的部分不能再报销或抵扣，请向开票方索取重新开具的发票。",
    ),
    (
        ("数电", "数电票", "全电", "全电发票"),
        "数电票（全面数字化的电子发票）没有发票代码，只有 20 位发票号码。查验时发票代码"
        "留空，填写 20 位号码、开票日期和价税合计金额即可。",
    ),
    (
        ("不一致", "不符", "有误"),
        "查验提示“信息不一致”：请逐项核对发票代码、号码、开票日期和金额。专票和数电票填"
        "不含税金额（数电票填价税合计），普票填校验码后 6 位。",
    ),
    (
        ("异地", "外地", "跨省", "外省"),
        "发票在全国增值税发票查验平台统一查验，开票地和查验地不同不影响查询。"
        "若是刚开具的发票，请次日再查。",
    ),
    (
        ("报销", "导入", "报销系统"),
        "报销系统提示发票不存在，多数是发票刚开具、税务数据尚未同步，一般次日可查到。"
        "请先在查验平台确认能查到，再重新导入；仍失败请联系贵司财务系统管理员。",
    ),
    (
        ("查无此票", "查不到", "不存在", "查无"),
        "提示“查无此票”：新开具的发票通常要到次日才能在查验平台查到，请 24 小时后再试。"
        "若仍查不到，请核对发票号码和开票日期，或把发票照片发给我。",
    ),
    (
        ("抬头", "税号", "开错", "识别号"),
        "发票抬头或纳税人识别号开错，不能自行修改，需开票方作废（当月）或红冲后重新开具。"
        "请把正确的抬头和税号发给开票方。",
    ),
    (
        ("重复", "报销过", "用过"),
        "同一张发票只能报销一次。如提示重复报销，请在报销系统中查询这张发票的报销记录，"
        "确认是否已被他人或您本人提交过。",
    ),
    (
        ("抵扣", "勾选", "认证", "进项"),
        "增值税专用发票和数电专票的抵扣勾选在电子税务局的“发票勾选确认”中办理，"
        "请在开票之日起的规定期限内完成用途确认。",
    ),
    (
        ("查验", "验真", "真伪"),
        "查验发票真伪请登录国家税务总局全国增值税发票查验平台，或直接把发票代码、号码、"
        "开票日期和金额发给我。",
    ),
    (
        ("你好", "您好", "在吗", "在不在"),
        "您好，我是发票助手，请直接描述您的问题，例如“发票查不到”“发票显示已作废”"
        "“数电票怎么查验”。",
    ),
    (
        ("帮助", "人工", "客服", "菜单"),
        "您可以发送：查验、查不到、作废、红冲、数电票、抬头开错、报销导入失败；"
        "需要人工客服请回复“人工”，工作时间 9:00–18:00。",
    ),
]

NOT_UNDERSTOOD = (
    "抱歉，我没有理解您的问题。您可以发送：查验、查不到、作废、红冲、数电票、抬头开错；"
    "或回复“帮助”查看全部功能。"
)

# The dictionary is loaded now, in every worker before it takes requests. The keywords
# go into it so that jieba keeps them whole (查无此票, 不一致, ...).
jieba.setLogLevel(logging.WARNING)
jieba.initialize()
for _keywords, _answer in ANSWERS:
    for _word in _keywords:
        jieba.add_word(_word)
KEYWORD_ANSWER: dict[str, int] = {}
for _rank, (_keywords, _answer) in enumerate(ANSWERS):
    for _word in _keywords:
        KEYWORD_ANSWER.setdefault(_word, _rank)


def answer_for(text: str) -> str:
    """The answer of the highest-ranked entry one of the text's words is a keyword of."""
    ranks = [KEYWORD_ANSWER[word] for word in jieba.lcut(text) if word in KEYWORD_ANSWER]
    return ANSWERS[min(ranks)][1] if ranks else NOT_UNDERSTOOD


# --- storage ---------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS peer_follower (
    id bigserial PRIMARY KEY,
    openid varchar(64) NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_interaction_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS peer_message (
    id bigserial PRIMARY KEY,
    openid varchar(64) NOT NULL REFERENCES peer_follower (openid),
    direction varchar(3) NOT NULL CHECK (direction IN ('in', 'out')),
    msg_id varchar(64),  -- WeChat's MsgId, inbound rows only (NULL for replies)
    content text NOT NULL,
    reply_to_id bigint REFERENCES peer_message (id),
    wechat_created_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT peer_message_unique_delivery UNIQUE (openid, msg_id)
);
CREATE INDEX IF NOT EXISTS peer_message_reply_to ON peer_message (reply_to_id);
"""

FOLLOWER_UPSERT = """
INSERT INTO peer_follower (openid, last_interaction_at) VALUES (%s, now())
ON CONFLICT (openid) DO UPDATE SET last_interaction_at = EXCLUDED.last_interaction_at
"""
INBOUND_INSERT = """
INSERT INTO peer_message (openid, direction, msg_id, content, wechat_created_at)
VALUES (%s, 'in', %s, %s, to_timestamp(%s))
ON CONFLICT (openid, msg_id) DO NOTHING
RETURNING id
"""
REPLY_INSERT = """
INSERT INTO peer_message (openid, direction, content, reply_to_id) VALUES (%s, 'out', %s, %s)
"""
STORED_REPLY = """
SELECT r.content FROM peer_message m JOIN peer_message r ON r.reply_to_id = m.id
WHERE m.openid = %s AND m.msg_id = %s
"""

_local = threading.local()


def _connection() -> psycopg.Connection:
    """This thread's connection, opened on first use (and again if it broke)."""
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed or conn.broken:
        conn = psycopg.connect(DSN, autocommit=False)
        _local.conn = conn
    return conn


def _schema_create() -> None:
    # Both workers start at once: the advisory lock keeps two CREATE TABLE IF NOT EXISTS
    # from racing on the catalogue.
    with psycopg.connect(DSN) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('peer_app schema'))")
        conn.execute(SCHEMA)


class _Duplicate(Exception):
    """A delivery of a MsgId already stored: roll the follower's update back."""

    def __init__(self, reply: str):
        super().__init__(reply)
        self.reply = reply


def store(openid: str, msg_id: str, text: str, created: int, reply: str) -> str:
    """Store the follower, the message and its reply in one transaction; return the reply
    to send: this one, or the one stored with the first delivery of this MsgId."""
    conn = _connection()
    try:
        with conn.transaction():
            conn.execute(FOLLOWER_UPSERT, [openid])
            row = conn.execute(INBOUND_INSERT, [openid, msg_id, text, created]).fetchone()
            if row is None:
                stored = conn.execute(STORED_REPLY, [openid, msg_id]).fetchone()
                raise _Duplicate(stored[0] if stored else reply)
            conn.execute(REPLY_INSERT, [openid, reply, row[0]])
    except _Duplicate as duplicate:
        return duplicate.reply
    return reply


_schema_create()

robot = werobot.WeRoBot(token=os.environ["WECHAT_TOKEN"], SESSION_STORAGE=False)


@robot.text
def text_message(message):
    reply = answer_for(message.content)
    sent = store(message.source, str(message.message_id), message.content, message.time, reply)
    # TextReply(message=...) swaps the addressees: FromUserName = the message's ToUserName.
    return TextReply(message=message, content=sent)


application = robot.wsgi
