"""Helpers shared by the notice tests."""


def sent_to(fake_wechat, openid: str) -> list:
    """Every message call the fake WeChat API received for one openid."""
    calls = fake_wechat.calls("/cgi-bin/message/custom/send") + fake_wechat.calls(
        "/cgi-bin/message/template/send"
    )
    return [c for c in calls if c.body and c.body.get("touser") == openid]
