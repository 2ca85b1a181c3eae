"""Writes of the NLU app: choosing the reply to a message, and changing the KB."""

from bot.nlu.services.kb import (
    faq_entry_update,
    kb_object_delete,
    kb_object_save,
    kb_objects_delete,
    kb_version_bump,
    keyword_create,
    keyword_update,
)
from bot.nlu.services.reply import (
    EMPTY,
    OFFER_HUMAN,
    NluReply,
    Understood,
    nlu_fixed_reply,
    nlu_reply,
    nlu_understand,
)

__all__ = [
    "EMPTY",
    "OFFER_HUMAN",
    "NluReply",
    "Understood",
    "faq_entry_update",
    "kb_object_delete",
    "kb_object_save",
    "kb_objects_delete",
    "kb_version_bump",
    "keyword_create",
    "keyword_update",
    "nlu_fixed_reply",
    "nlu_reply",
    "nlu_understand",
]
