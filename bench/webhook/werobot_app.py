"""The baseline: a bare WeRoBot keyword bot, served by the same gunicorn as ours.

No session storage and no database: it answers one keyword with a fixed
reply and echoes everything else, which is the least any WeChat bot does.
"""

import os

import werobot

KEYWORD_REPLY = "您好，我是发票助手。发送发票代码和号码即可查验。"

robot = werobot.WeRoBot(token=os.environ["WECHAT_TOKEN"], SESSION_STORAGE=False)


@robot.filter("帮助")
def keyword(message):
    return KEYWORD_REPLY


@robot.text
def echo(message):
    return message.content


application = robot.wsgi
