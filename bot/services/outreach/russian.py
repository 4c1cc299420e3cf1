"""Russian number agreement for the report's sentences.

A small rule instead of a morphological analyser: pymorphy3 agrees «человек»
with «людей» after 5-20 («45 людей»), while reports say «45 человек». The rule is
checked against pymorphy3 for regular nouns in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass


def plural_category(n: int) -> str:
    """'one' (1, 21, 101), 'few' (2-4, 22-24) or 'many' (0, 5-20, 11-14, 25...)."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


@dataclass(frozen=True)
class Noun:
    """Nominative forms after a number: «1 мероприятие», «3 мероприятия», «5 мероприятий»."""

    one: str
    few: str
    many: str

    def form(self, n: int) -> str:
        return {"one": self.one, "few": self.few, "many": self.many}[plural_category(n)]

    def count(self, n: int) -> str:
        return f"{n} {self.form(n)}"


EVENT = Noun("мероприятие", "мероприятия", "мероприятий")
PERSON = Noun("человек", "человека", "человек")
CONSULTATION = Noun("консультация", "консультации", "консультаций")
QUESTION = Noun("вопрос", "вопроса", "вопросов")
REQUEST = Noun("запрос", "запроса", "запросов")
BROADCAST = Noun("рассылка", "рассылки", "рассылок")
SIGNUP = Noun("запись", "записи", "записей")
PROGRAM = Noun("программа", "программы", "программ")


def held(n: int) -> str:
    """Participle agreeing with a count: «проведено 1 мероприятие», «проведены 45 мероприятий»."""
    return "проведено" if plural_category(n) == "one" else "проведены"


def duration(seconds: float) -> str:
    """«45 с», «12 мин», «2 ч 15 мин», «3 дн. 4 ч» — short units need no agreement."""
    total = round(seconds)
    if total < 60:
        return f"{total} с"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes} мин"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} ч {minutes} мин" if minutes else f"{hours} ч"
    days, hours = divmod(hours, 24)
    return f"{days} дн. {hours} ч" if hours else f"{days} дн."


def percent(part: int, whole: int) -> str:
    """«87 %» (rounded), or «—» when there is nothing to divide."""
    if whole <= 0:
        return "—"
    return f"{round(100 * part / whole)} %"
