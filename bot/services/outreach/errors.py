from __future__ import annotations

from bot.services.refusal import Refusal


class OutreachError(Refusal):
    """Bad input to the outreach log or the report.

    `key` names the answer for staff in the bot (content/texts/outreach_log.yaml, filled
    with `params`), `en` is the message for the operator of the CLI; both say what is
    wrong and what to do.
    """
