"""What followers think of the bot: a rating per knowledge-base answer, and suggestions."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from bot.conversations.models import Follower, Message


class AnswerRating(models.Model):
    """A follower's 有用 / 没用 on one knowledge-base answer (the passive reply row).

    One rating per answer: rating again changes it. The entry is kept by key, as the
    reports read it, and linked while the entry exists.
    """

    follower = models.ForeignKey(
        Follower, on_delete=models.CASCADE, related_name="answer_ratings", verbose_name="粉丝"
    )
    question = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="+", verbose_name="提问"
    )
    answer = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="rating", verbose_name="回答"
    )
    rating_message = models.ForeignKey(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="评价消息",
    )
    entry_key = models.CharField("问答条目", max_length=60, db_index=True)
    useful = models.BooleanField("有用")
    # Asked by the bot's prompt, or offered by the follower unprompted.
    prompted = models.BooleanField("应邀评价", default=False)
    created_at = models.DateTimeField("评价时间", auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "回答评价"
        verbose_name_plural = "回答评价"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["entry_key", "useful"], name="feedback_rating_entry_idx")]

    def __str__(self) -> str:
        return f"{self.entry_key}: {'有用' if self.useful else '没用'}"


class Suggestion(models.Model):
    """A message of the `feedback` intent: the 意见建议 inbox, worked by supervisors."""

    class Status(models.TextChoices):
        NEW = "new", "新建议"
        READ = "read", "已读"
        DONE = "done", "已处理"

    follower = models.ForeignKey(
        Follower, on_delete=models.CASCADE, related_name="suggestions", verbose_name="粉丝"
    )
    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="suggestion", verbose_name="消息"
    )
    text = models.TextField("内容")
    status = models.CharField(
        "状态", max_length=8, choices=Status.choices, default=Status.NEW, db_index=True
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="处理人",
    )
    handled_at = models.DateTimeField("处理时间", null=True, blank=True)
    note = models.TextField("处理备注", blank=True)
    created_at = models.DateTimeField("提交时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "意见建议"
        verbose_name_plural = "意见建议"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["new", "read", "done"]), name="feedback_suggestion_status"
            ),
            # Read or done means someone looked at it, and when.
            models.CheckConstraint(
                condition=Q(status="new") | Q(handled_at__isnull=False),
                name="feedback_suggestion_handled_at",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:40]
