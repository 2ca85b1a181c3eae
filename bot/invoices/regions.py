"""Region tables for invoice codes and 数电 numbers (data, not logic).

Province prefixes follow GB/T 2260. The two-digit table for 数电 numbers maps
the same province prefixes; the separately planned cities' two-digit codes in
数电 numbers are not verified, so that table starts empty and is meant to be
filled from an authoritative source.
"""

PROVINCES: dict[str, str] = {
    "11": "北京",
    "12": "天津",
    "13": "河北",
    "14": "山西",
    "15": "内蒙古",
    "21": "辽宁",
    "22": "吉林",
    "23": "黑龙江",
    "31": "上海",
    "32": "江苏",
    "33": "浙江",
    "34": "安徽",
    "35": "福建",
    "36": "江西",
    "37": "山东",
    "41": "河南",
    "42": "湖北",
    "43": "湖南",
    "44": "广东",
    "45": "广西",
    "46": "海南",
    "50": "重庆",
    "51": "四川",
    "52": "贵州",
    "53": "云南",
    "54": "西藏",
    "61": "陕西",
    "62": "甘肃",
    "63": "青海",
    "64": "宁夏",
    "65": "新疆",
}

# Cities with their own tax administration and their own 4-digit code prefix.
PLANNED_CITIES: dict[str, str] = {
    "2102": "大连",
    "3302": "宁波",
    "3502": "厦门",
    "3702": "青岛",
    "4403": "深圳",
}

# Two-digit region codes of 数电 numbers that are not province prefixes.
# Unverified: add entries here only from an authoritative source.
DIGITAL_PLANNED_CITIES: dict[str, str] = {}

HOME_REGION = "北京"
