"""Subscribe-message values cut to WeChat's limits per field type."""

import pytest

from bot.notices.channels import TemplateChoice, subscribe_data, subscribe_value
from bot.notices.models import Notice


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("thing1", "短文本", "短文本"),
        ("thing2", "一" * 20, "一" * 20),  # exactly at the limit: untouched
        ("thing3", "一" * 21, "一" * 19 + "…"),
        ("thing10", "a😀" * 15, ("a😀" * 15)[:19] + "…"),  # code points, never half a character
        ("number1", "1" * 40, "1" * 32),
        ("character_string2", "A1" * 20, ("A1" * 20)[:32]),
        ("phrase4", "已经处理完成了", "已经处理完"),
        ("name5", "北京某某科技有限公司财务部", "北京某某科技有限公司"),
        ("name6", "Zhang San Feng Long Name", "Zhang San Feng Long "),
        ("car_number7", "京A12345678", "京A123456"),
        ("thing8", "第一行\n第二行\t完", "第一行 第二行 完"),  # no line breaks or control chars
        ("time9", "2026-11-28 09:30", "2026-11-28 09:30"),
    ],
)
def test_subscribe_value_fits_the_field_type(field, value, expected):
    assert subscribe_value(field, value) == expected


def test_subscribe_data_fills_each_field_from_the_notice():
    notice = Notice(kind="broadcast", text="今晚22:00至24:00查验服务维护，请错峰查验发票", url="")
    notice.template_data = {"number": "12345678"}
    choice = TemplateChoice(
        "SUB-1",
        {"thing1": "{title}", "thing2": "{text}", "character_string3": "{number}"},
        "subscribe",
    )
    data = subscribe_data(notice, choice)
    assert data == {
        "thing1": {"value": "群发通知"},
        "thing2": {"value": "今晚22:00至24:00查验服务维护…"},
        "character_string3": {"value": "12345678"},
    }
    assert choice.is_subscribe
    assert not TemplateChoice("TPL", {}).is_subscribe
