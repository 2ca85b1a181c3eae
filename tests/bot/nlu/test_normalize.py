import pytest

from bot.nlu.normalize import MAX_CHARS, extract, normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("发票代码０１１００１９００２１１", "发票代码011001900211"),  # full-width digits
        ("ＰＤＦ　下载", "pdf 下载"),  # full-width letters and space, lower case
        ("發票查不到，請問怎麼辦", "发票查不到,请问怎么办"),  # traditional → simplified
        ("稅控盤開票失敗", "税控盘开票失败"),
        ("发票😭😭查不到🙏", "发票 查不到"),  # emoji
        ("[捂脸]发票查不到[微笑]", "发票查不到"),  # WeChat stickers
        ("发票\x00查\u200b不到\x1b", "发票 查 不到"),  # control and zero-width characters
        ("嗯嗯 发票查不到啊？？？", "发票查不到啊?"),  # fillers, repeated punctuation
        ("  \n\t ", ""),
        ("", ""),
    ],
)
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_normalise_caps_very_long_text_keeping_head_and_tail():
    text = "你好" + "啊" * 10_000 + "发票查不到"
    out = normalise(text)
    assert len(out) <= MAX_CHARS + 1
    assert out.startswith("你好") and out.endswith("发票查不到")


def test_extract_invoice_fields_before_segmentation():
    got = extract(normalise("发票代码011001900211 号码12345678 日期2024-03-05 金额329.25元 查一下"))
    kinds = [kind for kind, _ in got.entities]
    assert sorted(kinds) == ["amount", "code12", "date", "number8"]
    assert "0110" not in got.text and got.text.endswith("查一下")
    assert got.field_count == 4
    assert {"@fields2", "@code12"} <= got.markers()


def test_extract_digital_number_check_code_and_ticket():
    got = extract(normalise("号码24117000000212341234 校验码后六位123456 工单号T20250513001"))
    assert ("number20", "24117000000212341234") in got.entities
    assert ("check_code", "123456") in got.entities
    assert any(kind == "ticket" for kind, _ in got.entities)


def test_extract_leaves_short_numbers_alone():
    got = extract(normalise("系统报错502"))
    assert got.entities == ()
    assert got.text == "系统报错502"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("👍", "好的"),
        ("收到👌", "收到 好的"),
        ("🙏🙏", "谢谢"),
        ("您好🙏", "您好"),  # politeness, not thanks
        ("转 人 工", "转人工"),  # typed one character at a time
        ("发票 查不到 怎么办", "发票 查不到 怎么办"),  # spaces between words stay
        # In a real question the emoji is only decoration.
        ("发票查不到怎么办🙏", "发票查不到怎么办"),
    ],
)
def test_acknowledging_emoji_keep_their_meaning_in_short_replies(raw, expected):
    assert normalise(raw) == expected
