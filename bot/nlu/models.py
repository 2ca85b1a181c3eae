"""The knowledge base: intents, FAQ entries, keywords, synonyms, domain words."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q

ANSWER_MAX_CHARS = 400  # answers aim at ~300 characters; this is the hard stop


def split_lines(value: str) -> list[str]:
    """Return the non-empty, stripped lines of a one-item-per-line field."""
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class Intent(models.Model):
    id = models.CharField("意图编号", max_length=40, primary_key=True)
    name = models.CharField("名称", max_length=60)
    description = models.TextField("说明", blank=True)

    class Meta:
        verbose_name = "意图"
        verbose_name_plural = "意图"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id}（{self.name}）"


class FaqEntry(models.Model):
    key = models.SlugField("条目标识", max_length=60, unique=True)
    intent = models.ForeignKey(
        Intent, on_delete=models.PROTECT, related_name="entries", verbose_name="意图"
    )
    question = models.CharField("标准问题", max_length=200)
    paraphrases = models.TextField("相似问法", blank=True, help_text="每行一个问法。")
    answer = models.TextField(
        "答案", validators=[MaxLengthValidator(ANSWER_MAX_CHARS)], help_text="建议不超过300字。"
    )
    quick_replies = models.TextField(
        "快捷回复/下一步", blank=True, help_text="每行一个，用户可直接回复该文字或序号。"
    )
    priority = models.SmallIntegerField("优先级", default=0)
    active = models.BooleanField("启用", default=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "问答条目"
        verbose_name_plural = "问答条目"
        ordering = ["intent_id", "-priority", "key"]

    def __str__(self) -> str:
        return self.question

    @property
    def paraphrase_list(self) -> list[str]:
        return split_lines(self.paraphrases)

    @property
    def quick_reply_list(self) -> list[str]:
        return split_lines(self.quick_replies)


class Keyword(models.Model):
    class Kind(models.TextChoices):
        BOOST = "boost", "加分"
        REQUIRED = "required", "必需"
        NEGATIVE = "negative", "减分"
        MESSAGE = "message", "平台提示原文"

    word = models.CharField(
        "关键词",
        max_length=200,
        help_text="普通词；用“+”连接表示须同时出现（如 刚+开票）；"
        "“re:”开头为正则；“@fields2”等表示消息中带有发票字段；"
        "类型为“平台提示原文”时填平台的提示语，用户引用（含个别字不同）即命中。",
    )
    weight = models.FloatField("权重", default=0.5)
    kind = models.CharField("类型", max_length=10, choices=Kind.choices, default=Kind.BOOST)
    intent = models.ForeignKey(
        Intent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="keywords",
        verbose_name="意图",
    )
    entry = models.ForeignKey(
        FaqEntry,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="keywords",
        verbose_name="问答条目",
    )

    class Meta:
        verbose_name = "关键词"
        verbose_name_plural = "关键词"
        ordering = ["intent_id", "entry_id", "-weight", "word"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(intent__isnull=False) & Q(entry__isnull=True))
                | (Q(intent__isnull=True) & Q(entry__isnull=False)),
                name="nlu_keyword_one_target",
            ),
            models.CheckConstraint(condition=Q(weight__gte=0), name="nlu_keyword_weight_gte_0"),
        ]

    def __str__(self) -> str:
        return self.word

    def clean(self) -> None:
        if (self.intent_id is None) == (self.entry_id is None):
            raise ValidationError("关键词须且只能关联一个意图或一个问答条目。")
        if self.word.startswith("re:"):
            try:
                re.compile(self.word[3:])
            except re.error as exc:
                raise ValidationError({"word": f"正则表达式无效：{exc}"}) from exc


class SynonymGroup(models.Model):
    canonical = models.CharField("标准词", max_length=50, unique=True)
    variants = models.TextField("同义词", help_text="每行一个，匹配前统一替换为标准词。")

    class Meta:
        verbose_name = "同义词组"
        verbose_name_plural = "同义词组"
        ordering = ["canonical"]

    def __str__(self) -> str:
        return self.canonical

    @property
    def variant_list(self) -> list[str]:
        return split_lines(self.variants)


class DomainWord(models.Model):
    word = models.CharField("词语", max_length=50, unique=True)
    freq = models.PositiveIntegerField(
        "词频", null=True, blank=True, help_text="留空由分词器估算。"
    )

    class Meta:
        verbose_name = "领域词"
        verbose_name_plural = "领域词（分词词典）"
        ordering = ["word"]

    def __str__(self) -> str:
        return self.word


class ReplyTemplate(models.Model):
    class Key(models.TextChoices):
        OOS = "oos", "超出范围"
        OFFER_HUMAN = "offer_human", "连续未识别，建议转人工"
        CLARIFY = "clarify", "反问确认（您是想问……吗）"
        STILL_UNSOLVED = "still_unsolved", "追问仍未解决"
        VOICE_UNRECOGNISED = "voice_unrecognised", "语音未识别"
        EMPTY = "empty", "空消息"
        OPTIONS = "options", "快捷回复提示（{options} 处列出选项）"
        HUMAN_LABEL = "human_label", "“转人工”选项的文字"
        STILL_UNSOLVED_OPTIONS = "still_unsolved_options", "追问仍未解决时的选项（每行一个）"

    key = models.CharField("用途", max_length=30, choices=Key.choices, unique=True)
    text = models.TextField("回复内容", validators=[MaxLengthValidator(ANSWER_MAX_CHARS)])

    class Meta:
        verbose_name = "系统回复"
        verbose_name_plural = "系统回复"
        ordering = ["key"]

    def __str__(self) -> str:
        return self.get_key_display()
