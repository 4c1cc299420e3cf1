from __future__ import annotations


class OutreachError(Exception):
    """Bad input to the outreach log or the report.

    `ru` is the answer for staff in the bot, `en` the message for the operator
    of the CLI; both say what is wrong and what to do.
    """

    def __init__(self, ru: str, en: str) -> None:
        super().__init__(en)
        self.ru = ru
        self.en = en
