"""Input a service refuses, named by a text in content/ rather than written in code.

A service knows no messenger and no municipality, so it does not word its answers: it
raises a `Refusal` that names the text (`key`, a key of content/texts/*.yaml) and the
values to fill in (`params`), and gives the operator of the command line `en`. The
handler turns it into a message with `bot.views.staff.refusal_text`, which escapes
every param (they may carry what a person typed).
"""

from __future__ import annotations


class Refusal(Exception):
    def __init__(self, key: str, en: str, **params: object) -> None:
        super().__init__(en)
        self.key = key
        self.en = en
        self.params: dict[str, object] = params
