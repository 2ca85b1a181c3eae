"""Bump the KB version whenever a knowledge-base row changes, however it changed.

Admin saves, inline edits, bulk deletes in the changelist and service calls all
end up here, so every process recompiles its index on its next message.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from bot.nlu import models
from bot.nlu.services import kb_version_bump

KB_MODELS = (
    models.Intent,
    models.FaqEntry,
    models.Keyword,
    models.SynonymGroup,
    models.DomainWord,
    models.ReplyTemplate,
)


@receiver(post_save)
@receiver(post_delete)
def _kb_changed(sender, **kwargs) -> None:
    if sender in KB_MODELS and not kwargs.get("raw"):
        kb_version_bump()
