from bot.nlu import segment
from bot.nlu.phonetic import COMMON_WORD_FREQ, HomophoneRepairer, char_pinyin, pinyin_key


def _repairer(*words):
    return HomophoneRepairer(
        words, lambda w: segment.word_freq(w) >= COMMON_WORD_FREQ, segment.spans
    )


def test_pinyin_keys_are_toneless():
    assert pinyin_key("发票") == pinyin_key("发漂") == "fa piao"
    assert pinyin_key("查不到") == pinyin_key("查不倒")
    assert char_pinyin("a") == ""
    assert pinyin_key("pdf") == ""


def test_repairs_homophone_typos_of_vocabulary_words():
    r = _repairer("发票", "查不到", "在吗")
    assert r.repair("我的发漂查不倒") == "我的发票查不到"
    assert r.repair("再吗") == "在吗"


def test_does_not_rewrite_real_words_or_cut_through_them():
    r = _repairer("离线", "什么是")
    # 里显 sounds like 离线 but 显示 is a real word it would cut through.
    assert r.repair("系统里显示不存在") == "系统里显示不存在"
    assert r.repair("什么时候能查到") == "什么时候能查到"


def test_empty_vocabulary_is_a_no_op():
    assert _repairer().repair("发漂") == "发漂"


def test_function_word_plus_next_character_is_not_a_typo():
    r = _repairer("失控", "发票")
    assert r.repair("查询结果是空的") == "查询结果是空的"
    assert r.repair("发票失空了") == "发票失控了"


def test_near_homophones_of_longer_words_are_repaired():
    # Fuzzy-pinyin slips: ch/c, sh/s, -ng/-n, for words of three or more characters.
    r = _repairer("查不到", "数电票", "离线开票", "验证码", "发票")
    assert r.repair("发票擦不到") == "发票查不到"
    assert r.repair("树电票怎么查") == "数电票怎么查"  # a plain homophone
    assert r.repair("离鲜开票超时") == "离线开票超时"  # xian, exactly
    assert r.repair("离限开漂超时") == "离线开票超时"  # xian/xian, piao/piao


def test_a_near_homophone_never_ends_on_a_particle():
    r = _repairer("验证码")
    assert r.repair("发票需要验真吗") == "发票需要验真吗"  # yan zhen ma is not yan zheng ma


def test_two_character_words_match_exact_homophones_only():
    r = _repairer("专票")
    assert r.repair("砖票") == "专票"  # zhuan piao, exactly
    assert r.repair("钻票") == "钻票"  # zuan is zhuan only to a fuzzy input method
