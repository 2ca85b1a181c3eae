"""The per-index memo of text analysis and classification (bot/nlu/kbindex.py TextMemo)."""

from bot.nlu import matcher
from bot.nlu.kbindex import MEMO_MAX_TEXT_CHARS, KbIndex, TextMemo
from bot.nlu.matcher import classify_analysis, classify_with


def test_the_same_text_is_analysed_and_classified_once(seed_index, monkeypatch):
    seed_index.memo = TextMemo()
    computed = []
    real = matcher._classify

    def counting(index, analysis):
        computed.append(analysis.raw)
        return real(index, analysis)

    monkeypatch.setattr(matcher, "_classify", counting)
    first = classify_with(seed_index, "刚开的发票查不到怎么办")
    second = classify_with(seed_index, "刚开的发票查不到怎么办")
    assert second is first
    assert seed_index.analyse("刚开的发票查不到怎么办") is first.analysis
    assert computed == ["刚开的发票查不到怎么办"]
    classify_with(seed_index, "数电票没有发票代码")
    assert computed == ["刚开的发票查不到怎么办", "数电票没有发票代码"]


def test_a_memoised_answer_equals_a_fresh_one(seed_index):
    seed_index.memo = TextMemo()
    text = "发漂查不倒"
    memoised = classify_with(seed_index, text)
    seed_index.memo = TextMemo()
    fresh = classify_with(seed_index, text)
    assert (memoised.intent, memoised.action, memoised.score) == (
        fresh.intent,
        fresh.action,
        fresh.score,
    )
    assert memoised.candidate_pairs == fresh.candidate_pairs


def test_an_analysis_made_elsewhere_is_not_answered_from_the_memo(seed_index):
    seed_index.memo = TextMemo()
    text = "开票后多久能查到"
    classify_with(seed_index, text)
    foreign = seed_index._analyse(text)  # equal content, another object
    assert classify_analysis(seed_index, foreign).analysis is foreign


def test_a_new_index_starts_with_an_empty_memo(seed_index):
    classify_with(seed_index, "刚开的发票查不到怎么办")
    assert len(seed_index.memo) > 0
    assert len(KbIndex().memo) == 0  # a KB edit builds a new index


def test_the_memo_is_bounded():
    memo = TextMemo(max_entries=3)
    for n in range(3):
        memo.put("analysis", f"t{n}", n)
    assert memo.get("analysis", "t2") == 2
    memo.put("analysis", "t3", 3)  # full: emptied, then kept
    assert len(memo) == 1 and memo.get("analysis", "t0") is None
    memo.put("analysis", "长" * (MEMO_MAX_TEXT_CHARS + 1), "x")
    assert memo.get("analysis", "长" * (MEMO_MAX_TEXT_CHARS + 1)) is None
