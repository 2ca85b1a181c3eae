"""Writes of answer ratings and the suggestion inbox (the dialog and the admin call these)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from bot.conversations.models import Follower, Message
from bot.feedback.errors import FeedbackError, FeedbackErrorCode
from bot.feedback.models import AnswerRating, Suggestion
from support.roles import user_is_supervisor


@transaction.atomic
def answer_rating_record(
    *,
    follower: Follower,
    answer: Message,
    entry_key: str,
    useful: bool,
    rating_message: Message | None = None,
    prompted: bool = False,
) -> AnswerRating:
    """Keep a follower's rating of one answer (a passive reply); rating again changes it."""
    values = {
        "useful": useful,
        "rating_message": rating_message,
        "prompted": prompted,
        "entry_key": entry_key[:60],
    }
    try:
        with transaction.atomic():
            return AnswerRating.objects.create(
                follower=follower, question_id=answer.reply_to_id, answer=answer, **values
            )
    except IntegrityError:
        pass  # rated before (or concurrently): the newer rating wins
    rating = AnswerRating.objects.select_for_update().get(answer=answer)
    for name, value in values.items():
        setattr(rating, name, value)
    rating.save(update_fields=[*values, "updated_at"])
    return rating


def suggestion_record(*, message: Message, text: str) -> Suggestion:
    """Put a follower's suggestion in the inbox, once per message."""
    suggestion, _ = Suggestion.objects.get_or_create(
        message=message, defaults={"follower_id": message.follower_id, "text": text.strip()}
    )
    return suggestion


@transaction.atomic
def suggestion_status_set(
    *, suggestion: Suggestion, status: str, user, note: str | None = None
) -> Suggestion:
    """Move a suggestion to new / read / done, recording who handled it and when."""
    if not user_is_supervisor(user):
        raise FeedbackError(FeedbackErrorCode.NOT_A_SUPERVISOR, "仅主管可处理意见建议")
    if status not in Suggestion.Status.values:
        raise FeedbackError(
            FeedbackErrorCode.INVALID_STATUS, "状态须为新建议、已读或已处理", field="status"
        )
    suggestion = Suggestion.objects.select_for_update().get(pk=suggestion.pk)
    suggestion.status = status
    fields = ["status", "handled_by", "handled_at"]
    if status == Suggestion.Status.NEW:
        suggestion.handled_by, suggestion.handled_at = None, None
    else:
        suggestion.handled_by, suggestion.handled_at = user, timezone.now()
    if note is not None:
        suggestion.note = note
        fields.append("note")
    suggestion.save(update_fields=fields)
    return suggestion
