"""Fixed vocabularies of the NLU: the intent ids and what the NLU decided to do.

`Intent` mirrors the catalogue (`../shared/nlu/intents.md`; the copy the tests
read is `tests/bot/nlu/data/intents.md`): its values are the ids, a contract
shared by the knowledge base, the evaluation files, tickets' categories and the
reports. `bot.nlu.models.Intent` is something else: the Django model of the
knowledge base, one row per catalogue id, holding the name, description and
keywords that support staff edit in admin. A row's primary key is one of this
enum's values; the enum is what code compares with, the model is what the
matcher learns from.

Both are `StrEnum`s: a member equals (and hashes like) its string value, so
they go into CharFields, cache entries and JSON unchanged.
"""

from enum import StrEnum


class Intent(StrEnum):
    """An intent id of the catalogue: every message is classified into exactly one."""

    GREETING = "greeting"
    THANKS_BYE = "thanks_bye"
    HUMAN_AGENT = "human_agent"
    INVOICE_NOT_FOUND = "invoice_not_found"
    VERIFY_INVOICE = "verify_invoice"
    SYNC_DELAY = "sync_delay"
    VOID_RED_STATUS = "void_red_status"
    INFO_MISMATCH = "info_mismatch"
    CHECK_LIMIT = "check_limit"
    DIGITAL_INVOICE = "digital_invoice"
    CROSS_REGION = "cross_region"
    REIMBURSEMENT_IMPORT = "reimbursement_import"
    ISSUING_PROBLEM = "issuing_problem"
    PAPER_ALTERNATIVE = "paper_alternative"
    SYSTEM_OUTAGE = "system_outage"
    DOWNLOAD_INVOICE = "download_invoice"
    TICKET_STATUS = "ticket_status"
    COMPLAINT = "complaint"
    FEEDBACK = "feedback"
    OOS = "oos"  # out of scope: what no other intent covers, or nothing scored enough


class NluAction(StrEnum):
    """What the NLU does with one message (`Classification.action`, `NluReply.action`)."""

    ANSWER = "answer"  # a confident match: send the entry's answer
    CLARIFY = "clarify"  # a close call: offer the top entries' questions to choose from
    OUT_OF_SCOPE = "oos"  # nothing of ours: the out-of-scope reply (a miss)
    OFFER_HUMAN = "offer_human"  # repeated misses: offer a person instead
    EMPTY = "empty"  # no letter, digit or Chinese character: nothing was said (not a miss)
