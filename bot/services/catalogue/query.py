"""Pure parsing and ranking for program search: ages, free text, keywords.

Nothing here touches the database or Telegram, so it is unit- and
property-tested directly. The repository fetches candidate rows with the
structured filters; `rank()` orders them the same way for the bot and the CLI.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process

from bot.directions import Direction, parse_direction

# The ages the catalogue holds (the importer takes programs from 3 to 18; some regions
# admit 3-year-olds in the Navigator). The certificate's own range is a municipality
# setting (certificate.min_age/max_age) and matters only for paying with it.
MIN_AGE = 3
MAX_AGE = 18
# Longer texts are questions or stories, not a search request.
MAX_QUERY_CHARS = 120
MAX_QUERY_WORDS = 12
MAX_UNKNOWN_WORDS = 2


def normalise(text: str) -> str:
    """Lowercase, ё→е, every run of non-word characters becomes one space."""
    text = text.lower().replace("ё", "е")
    text = _DASHED_NUMBERS.sub(r"\1-\2", text)
    return " ".join(_WORD_RE.findall(text))


_DASHED_NUMBERS = re.compile(r"(\d)\s*[-–—]\s*(\d)")


_WORD_RE = re.compile(r"[0-9a-zа-я]+(?:[-+][0-9a-zа-я]+)*")


# search_text is part of the covering search index: bounded so an index row stays
# far below PostgreSQL's btree limit (~2700 bytes) even in Cyrillic (2 bytes a letter).
SEARCH_TEXT_LIMIT = 700


def search_text(*parts: str) -> str:
    """What keyword search scans: normalised words padded with spaces (word-prefix LIKE)."""
    text = " ".join(normalise(p) for p in parts if p)
    if len(text) > SEARCH_TEXT_LIMIT:
        text = text[:SEARCH_TEXT_LIMIT].rsplit(" ", 1)[0]
    return f" {text} "


# --- ages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgeRange:
    low: int
    high: int

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"

    @classmethod
    def parse_code(cls, code: str) -> AgeRange | None:
        """The compact form used in callback data: «10» or «10-12»; None when invalid."""
        low, dash, high = code.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()) or len(code) > 5:
            return None
        age = cls(int(low), int(high or low))
        return age if MIN_AGE <= age.low <= age.high <= MAX_AGE else None

    def label(self) -> str:
        if self.low == self.high:
            return f"{self.low} {years_word(self.low)}"
        return f"{self.low}–{self.high} лет"

    def fit(self, age_from: int, age_to: int) -> int:
        """How well a program's ages fit: 0 is best (centre and span close to the request)."""
        return abs((age_from + age_to) - (self.low + self.high)) + max(0, (age_to - age_from) - 4)


def years_word(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "год"
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return "года"
    return "лет"


@dataclass(frozen=True)
class AgeAnswer:
    """What a typed age step answer means: an age, a number out of range, or not an age."""

    age: AgeRange | None = None
    out_of_range: bool = False


_NUMBER_WORDS = {
    "три": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10,
    "одиннадцать": 11, "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14,
    "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17, "восемнадцать": 18,
    # «для ребенка трех лет», «от пяти до семи лет»
    "трех": 3, "четырех": 4, "пяти": 5, "шести": 6, "семи": 7, "восьми": 8, "девяти": 9, "десяти": 10,
    "одиннадцати": 11, "двенадцати": 12, "тринадцати": 13, "четырнадцати": 14, "пятнадцати": 15,
    "шестнадцати": 16, "семнадцати": 17, "восемнадцати": 18,
}  # fmt: skip
_RANGE_RE = re.compile(r"(?<!\d)(\d{1,3})\s*(?:-|–|—|до)\s*(\d{1,3})(?!\d)")
_FROM_TO_RE = re.compile(r"\bот\s+(\d{1,3})\s+до\s+(\d{1,3})(?!\d)")
_YEARS_RE = re.compile(r"(?<!\d)(\d{1,3})\s*(?:-?\s*(?:лет|год|года|годик\w*|летн\w*|х\s*лет))\b")
_TO_CHILD_RE = re.compile(
    r"\b(?:ребенк\w*|ребенок|сын\w*|доч\w*|девочк\w*|мальчик\w*|возраст\w*|школьник\w*)\s+(\d{1,3})(?!\d)"
)
_NUMBER_RE = re.compile(r"(?<!\d)(\d{1,3})(?!\d)")


def _make_age(low: int, high: int) -> AgeAnswer:
    low, high = min(low, high), max(low, high)
    if low < MIN_AGE or high > MAX_AGE:
        return AgeAnswer(out_of_range=True)
    return AgeAnswer(AgeRange(low, high))


def find_age(text: str, *, bare_number: bool = False) -> tuple[AgeAnswer | None, str]:
    """Find an age in normalised text; returns the answer (None: none found) and the rest of the text.

    «5 лет», «ребенку 10», «10-12», «от 7 до 9 лет», «десять лет». A bare number
    counts only when `bare_number` (the age step, where any number is an age).
    """
    for word, value in _NUMBER_WORDS.items():
        text = re.sub(rf"\b{word}\b", str(value), text)
    for pattern in (_FROM_TO_RE, _RANGE_RE):
        m = pattern.search(text)
        if m:
            return _make_age(int(m.group(1)), int(m.group(2))), _cut(text, m)
    for pattern in (_YEARS_RE, _TO_CHILD_RE):
        m = pattern.search(text)
        if m:
            value = int(m.group(1))
            return _make_age(value, value), _cut(text, m)
    if bare_number:
        m = _NUMBER_RE.search(text)
        if m:
            value = int(m.group(1))
            return _make_age(value, value), _cut(text, m)
    return None, text


def _cut(text: str, m: re.Match[str]) -> str:
    return (text[: m.start()] + " " + text[m.end() :]).strip()


def parse_age(text: str) -> AgeAnswer | None:
    """A typed answer at the age step; None when it holds no number at all."""
    if re.match(r"\s*[-–—]\s*\d", text):  # a negative number
        return AgeAnswer(out_of_range=True)
    answer, _ = find_age(normalise(text), bare_number=True)
    return answer


# --- keywords -----------------------------------------------------------------------------

# What parents type (a stem) → stems of the words programs use. A stem matches the
# start of a word; a trailing "$" means the whole word.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "робот": ("робот", "лего", "lego", "конструир", "wedo", "spike", "arduino"),
    "лего": ("лего", "lego", "конструир", "робот"),
    "lego": ("лего", "lego", "конструир", "робот"),
    "конструир": ("конструир", "конструктор", "лего", "lego", "моделир"),
    "программир": ("программир", "python", "scratch", "алгоритм", "roblox", "разработк"),
    "айти": ("программир", "python", "it-", "it$", "компьютер", "цифров"),
    "it": ("программир", "python", "it-", "it$", "компьютер", "цифров"),
    "компьютер": ("компьютер", "программир", "it-", "цифров"),
    "3d": ("3d", "моделир", "прототип"),
    "моделир": ("моделир", "3d", "прототип"),
    "дрон": ("дрон", "квадрокоптер", "беспилот"),
    "квадрокоптер": ("квадрокоптер", "дрон", "беспилот"),
    "электрон": ("электрон", "радио", "arduino"),
    "танц": ("танц", "хореограф", "балет", "брейк", "хип-хоп", "k-pop"),
    "хореограф": ("хореограф", "танц", "балет"),
    "балет": ("балет", "хореограф", "танц"),
    "рисов": ("рисов", "рисун", "изо$", "изостуд", "изобразит", "живопис", "графи", "пленэр", "скетч"),
    "рисун": ("рисов", "рисун", "изо$", "изостуд", "изобразит", "живопис", "графи"),
    "изо": ("изо$", "изостуд", "изобразит", "рисов", "рисун", "живопис"),
    "живопис": ("живопис", "рисун", "рисов", "изобразит", "изостуд"),
    "художник": ("рисов", "рисун", "изобразит", "изостуд", "живопис"),
    "пени": ("вокал", "пени", "хор$", "хоров", "песн"),
    "петь": ("вокал", "пени", "хор$", "хоров", "песн"),
    "песн": ("вокал", "пени", "хор$", "хоров", "песн"),
    "вокал": ("вокал", "пени", "хор$", "хоров"),
    "хор": ("хор$", "хоров", "вокал", "пени"),
    "хоров": ("хор$", "хоров", "вокал", "пени"),
    "музык": ("музык", "гитар", "фортепиан", "баян", "аккордеон", "барабан", "вокал", "ансамбл"),
    "гитар": ("гитар",),
    "фортепиан": ("фортепиан", "пианин"),
    "пианин": ("фортепиан", "пианин"),
    "театр": ("театр", "актер", "сцен"),
    "актер": ("театр", "актер"),
    "шахмат": ("шахмат",),
    "шашк": ("шашк", "шашечн"),
    "футбол": ("футбол",),
    "баскетбол": ("баскетбол",),
    "волейбол": ("волейбол",),
    "хоккей": ("хоккей",),
    "плаван": ("плаван", "бассейн"),
    "бассейн": ("плаван", "бассейн"),
    "борьб": ("борьб", "самбо", "дзюдо", "греко"),
    "единоборств": ("борьб", "самбо", "дзюдо", "карат", "бокс", "кикбокс"),
    "карат": ("карат",),
    "самбо": ("самбо",),
    "дзюдо": ("дзюдо",),
    "бокс": ("бокс", "кикбокс"),
    "кикбокс": ("кикбокс", "бокс"),
    "гимнаст": ("гимнаст", "акробат"),
    "акробат": ("акробат", "гимнаст"),
    "лыж": ("лыж",),
    "атлетик": ("атлетик",),
    "бег": ("атлетик", "бег$"),
    "теннис": ("теннис",),
    "фитнес": ("фитнес", "йог", "офп"),
    "йог": ("йог",),
    "экологи": ("эколог", "природ", "натуралист"),
    "эколог": ("эколог", "природ", "натуралист"),
    "природ": ("природ", "эколог", "натуралист"),
    "биологи": ("биолог", "натуралист", "природ"),
    "хими": ("хими",),
    "физик": ("физик",),
    "астроном": ("астроном", "звезд", "космос"),
    "космос": ("космос", "астроном", "звезд"),
    "опыт": ("опыт", "эксперимент", "лаборатор", "исследоват"),
    "наук": ("наук", "научн", "эксперимент", "исследоват"),
    "животн": ("животн", "натуралист", "аквариум", "зоолог"),
    "туризм": ("туризм", "турист", "поход", "ориентир"),
    "турист": ("туризм", "турист", "поход", "ориентир"),
    "поход": ("туризм", "турист", "поход"),
    "ориентир": ("ориентир",),
    "краевед": ("краевед", "экскурс", "истори", "музе"),
    "экскурс": ("экскурс", "экскурсовод"),
    "истори": ("истори", "краевед", "летопис", "музе"),
    "журналист": ("журналист", "медиа", "юнкор", "блог"),
    "блог": ("блог", "медиа", "журналист"),
    "медиа": ("медиа", "журналист", "блог"),
    "волонтер": ("волонтер", "добр"),
    "патриот": ("патриот", "юнарм"),
    "лидер": ("лидер", "вожат"),
    "психолог": ("психолог", "общени"),
    "общени": ("общени", "коммуникат"),
    "финанс": ("финанс",),
    "англ": ("англ",),
    "язык": ("язык", "англ", "речь", "реч$"),
    "логик": ("логик", "ментальн", "развивайк"),
    "арифметик": ("арифметик", "математик"),
    "математик": ("математик", "арифметик"),
    "подготовк": ("подготовк", "развивайк"),
    "рукодел": ("рукодел", "умел", "мастерил", "декоратив", "дпи$", "шить", "вязан"),
    "шить": ("шить", "шитье", "моды", "рукодел"),
    "вязан": ("вязан", "рукодел"),
    "лепк": ("лепк", "керамик", "глин"),
    "керамик": ("керамик", "лепк", "глин"),
    "фото": ("фото",),
    "видео": ("видео", "кино", "анимац", "мульт"),
    "мульт": ("мульт", "анимац"),
    "анимац": ("анимац", "мульт"),
    "кино": ("кино", "видео"),
    "дизайн": ("дизайн", "график", "моды"),
}
_SYNONYM_KEYS = sorted(SYNONYMS, key=len, reverse=True)
# How a header names a subject («Кружки по футболу»): a parent's word in any form
# («футбола», «футбольная») becomes its key's phrase, never quoted back as typed.
SUBJECT_PHRASES: dict[str, str] = {
    "робот": "по робототехнике", "лего": "по лего-конструированию", "lego": "по лего-конструированию",
    "конструир": "по конструированию", "программир": "по программированию", "айти": "по IT",
    "it": "по IT", "компьютер": "по информатике", "3d": "по 3D-моделированию",
    "моделир": "по моделированию", "дрон": "по дронам", "квадрокоптер": "по квадрокоптерам",
    "электрон": "по электронике", "танц": "по танцам", "хореограф": "по хореографии",
    "балет": "по балету", "рисов": "по рисованию", "рисун": "по рисованию", "изо": "по ИЗО",
    "живопис": "по живописи", "художник": "по рисованию", "пени": "по вокалу", "петь": "по вокалу",
    "песн": "по вокалу", "вокал": "по вокалу", "хор": "по хоровому пению", "хоров": "по хоровому пению",
    "музык": "по музыке", "гитар": "по гитаре", "фортепиан": "по фортепиано", "пианин": "по фортепиано",
    "театр": "по театральному искусству", "актер": "по актёрскому мастерству", "шахмат": "по шахматам",
    "шашк": "по шашкам", "футбол": "по футболу", "баскетбол": "по баскетболу",
    "волейбол": "по волейболу", "хоккей": "по хоккею", "плаван": "по плаванию", "бассейн": "по плаванию",
    "борьб": "по борьбе", "единоборств": "по единоборствам", "карат": "по каратэ", "самбо": "по самбо",
    "дзюдо": "по дзюдо", "бокс": "по боксу", "кикбокс": "по кикбоксингу", "гимнаст": "по гимнастике",
    "акробат": "по акробатике", "лыж": "по лыжам", "атлетик": "по лёгкой атлетике", "бег": "по бегу",
    "теннис": "по теннису", "фитнес": "по фитнесу", "йог": "по йоге", "экологи": "по экологии",
    "эколог": "по экологии", "природ": "о природе", "биологи": "по биологии", "хими": "по химии",
    "физик": "по физике", "астроном": "по астрономии", "космос": "о космосе",
    "опыт": "с опытами и экспериментами", "наук": "по науке", "животн": "о животных",
    "туризм": "по туризму", "турист": "по туризму", "поход": "по туризму",
    "ориентир": "по спортивному ориентированию", "краевед": "по краеведению", "экскурс": "по экскурсиям",
    "истори": "по истории", "журналист": "по журналистике", "блог": "по блогингу", "медиа": "по медиа",
    "волонтер": "для волонтёров", "патриот": "по патриотическому воспитанию", "лидер": "для лидеров",
    "психолог": "по психологии", "общени": "по общению", "финанс": "по финансовой грамотности",
    "англ": "по английскому языку", "язык": "по языкам", "логик": "по логике",
    "арифметик": "по ментальной арифметике", "математик": "по математике",
    "подготовк": "по подготовке к школе", "рукодел": "по рукоделию", "шить": "по шитью",
    "вязан": "по вязанию", "лепк": "по лепке", "керамик": "по керамике", "фото": "по фотографии",
    "видео": "по видеосъёмке", "мульт": "по мультипликации", "анимац": "по анимации",
    "кино": "по кино", "дизайн": "по дизайну",
}  # fmt: skip

# Short keys that would match unrelated words as a prefix («хорошо», «изобретатель»).
_EXACT_KEYS = frozenset({"хор", "изо", "бег", "it", "3d", "петь"})


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words a search request is built from that are neither keywords nor unknown.
STOPWORDS = _words(
    """
    для на в во с со по и или а к ко у о об от до из за мне нам нас мы я нужен нужна нужны нужно
    хочу хотим хотели хотела хотел ищу ищем ищет найти подобрать подберите подскажите посоветуйте
    пожалуйста есть ли какие какой какая какое каких где рядом поблизости недалеко около дома
    возле близко ближайший ближайшая ближайшие районе район город городе наш нашем нашего тут здесь
    ребенок ребенку ребенка ребенком детей дети детям детский детская детские детское малыш малыша
    малышей малышам сын сыну сына дочь дочка дочке дочки дочери девочка девочке девочки девочек
    мальчик мальчику мальчика мальчиков школьник школьника школьнику школьников подросток подростка
    подростков дошкольник дошкольника лет год года годик годика возраст возрасте летнего летнему
    летней вечером утром выходные выходных будни после школы интересный интересное интересные
    хороший хорошая хорошие любой любая любые тоже еще можно бы
    """
)
# «кружок», «секция»: the text is about programs even without a known subject.
PROGRAM_NOUNS = _words(
    """
    кружок кружка кружки кружков кружке кружку кружкам кружочек секция секции секцию секций секциях
    студия студии студию студий
    """
)
# Nouns that fit a search but also complaints («занятия отменили», «программа не
# открывается»): they never make a text a search on their own.
WEAK_NOUNS = _words(
    """
    занятия занятий занятие заниматься курсы курсов курс программа программы программу программ
    объединение объединения клуб клубы клуба привет здравствуйте добрый день вечер утро
    """
)
# An unknown word with a verb ending («отменили», «работает») is a story, not a subject.
_VERB_ENDING = re.compile(r"(?:ть|ся|сь|ет|ут|ют|ит|ат|ят|ла|ли|ло|ешь|ишь|ем|им|ал|ил|ел)$")
# Words that make a text a question about procedures (the FAQ's), never a search.
_FAQ_STEMS = (
    "как", "зачем", "почему", "сколько", "когда", "куда", "кто", "чем", "что",
    "сертификат", "навигатор", "заявк", "заявлен", "статус", "запис", "регистр", "госуслуг",
    "документ", "договор", "номинал", "парол", "логин", "кабинет", "справк", "подтвер",
    "отчисл", "мероприят", "собрани", "открытых", "оплат", "деньг", "выплат", "снилс",
    "паспорт", "получ", "оформ", "активир", "мфц", "моц", "жалоб", "отказ", "ошибк",
    "телефон", "адрес", "контакт", "почт", "отпис", "подпис",
    "плат", "заплат", "одновремен", "оба", "обе",
)  # fmt: skip
_FAQ_EXACT = frozenset({"как", "что", "чем", "кто", "куда", "когда", "зачем", "почему", "сколько"})

FUNDING_FREE = "free"
FUNDING_CERT = "cert"
_FUNDING_PATTERNS = (
    (re.compile(r"\b(?:по|за|через|с)\s+(?:соц\w*\s+)?сертификат\w*\b"), FUNDING_CERT),
    (re.compile(r"\bсертификатом\b"), FUNDING_CERT),
    (re.compile(r"\bбесплатн\w*\b|\bбез\s+оплаты\b|\bне\s*платн\w*\b"), FUNDING_FREE),
)
_OVZ_RE = re.compile(
    r"\b(?:с\s+)?овз\b|\bограниченн\w*\s+возможност\w*\b|\bинвалидност\w*\b|\bособенност\w*\b"
)
# «рядом с домом»: the bot cannot know where home is; it says so and offers the districts.
_NEARBY_RE = re.compile(
    r"\b(?:рядом|поблизости|недалеко|неподалеку|близко|ближайш\w*|рядышком|по\s+соседству"
    r"|в\s+шаговой\s+доступности|(?:около|возле|у)\s+(?:дома|нас|школы)"
    r"|(?:в\s+)?(?:нашем|моем|своем|нашему|моему)\s+район\w*)\b"
)
_FORM_PATTERNS = (
    (re.compile(r"\bдистанцион\w*\b|\bонлайн\b|\bудаленн\w*\b"), "dist"),
    (re.compile(r"\bочно\w*\b|\bочн\w*\b"), "och"),
)


def subject_stem(word: str) -> str | None:
    """The synonym-table key a word starts with («рисования» → «рисов»), or None; a misspelt
    word of 5+ letters matches a key its beginning is close to («шахмты» → «шахмат»)."""
    for key in _SYNONYM_KEYS:
        if word == key or (key not in _EXACT_KEYS and word.startswith(key)):
            return key
    if "-" in word.strip("-"):  # «мини-футбол», «3d-моделирование»: the first known part
        for part in word.split("-"):
            found = subject_stem(part) if part else None
            if found is not None:
                return found
        return None
    return _misspelt_subject(word) if len(word) >= 5 else None


@lru_cache(maxsize=4096)
def _misspelt_subject(word: str) -> str | None:
    from bot.services.faq.engine import shared_normalizer  # one pymorphy3 dictionary per process

    if shared_normalizer().is_known(word):  # «карантин» is a word, not a misspelt «карате»
        return None
    best: tuple[float, str] | None = None
    for key in _SYNONYM_KEYS:
        if key in _EXACT_KEYS or len(key) < 5:
            continue
        score = fuzz.ratio(word[: len(key) + 1], key)
        if score >= 80 and (best is None or score > best[0]):
            best = (score, key)
    return best[1] if best else None


_ENDINGS = ("ами", "ями", "ого", "ему", "ому", "ыми", "ими", "ия", "ие", "ию", "ий", "ой",
            "ей", "ом", "ем", "ах", "ях", "ов", "ев", "ы", "и", "а", "я", "у", "ю", "е", "о")  # fmt: skip


def crude_stem(word: str) -> str:
    """Drop a Russian inflection ending so «оригами», «оригамию» share a prefix."""
    if len(word) <= 4 or not re.fullmatch(r"[а-я]+", word):
        return word
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


def keyword_alternatives(keyword: str) -> tuple[str, ...]:
    """Stems that count as a match for one keyword (the synonym table, or its own stem)."""
    own = crude_stem(keyword)
    key = subject_stem(keyword)
    if key is None:
        return (own,)
    if key in _EXACT_KEYS:
        own = key + "$"
    return tuple(dict.fromkeys((own, *SYNONYMS[key])))


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=2048)
def _dictionary_phrase(word: str) -> str | None:
    """«по кулинарии» for a noun the dictionary knows, in the number the parent used."""
    morph = _morph()
    if not morph.word_is_known(word):
        return None
    parse = morph.parse(word)[0]
    if parse.tag.POS != "NOUN":
        return None
    number = "plur" if parse.tag.number == "plur" else "sing"
    form = parse.inflect({"datv", number}) or parse.inflect({"datv"})
    return f"по {form.word}" if form is not None else None


def subject_phrase(word: str) -> str | None:
    """How a header names what a parent typed: «футбола» → «по футболу», «кулинария» →
    «по кулинарии»; None for a word neither the synonym table nor the dictionary knows."""
    key = subject_stem(word)
    if key is not None:
        return SUBJECT_PHRASES[key]
    return _dictionary_phrase(word)


def join_phrases(phrases: Sequence[str]) -> str:
    """«по футболу», «по плаванию» → «по футболу и плаванию»."""
    unique = list(dict.fromkeys(phrases))
    if all(p.startswith("по ") for p in unique):
        tails = [p[3:] for p in unique]
        return "по " + (", ".join(tails[:-1]) + " и " + tails[-1] if len(tails) > 1 else tails[0])
    return ", ".join(unique[:-1]) + " и " + unique[-1] if len(unique) > 1 else unique[0]


# --- free text ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramQuery:
    """Filters and keywords read from a parent's free text."""

    direction: Direction | None = None
    age: AgeRange | None = None
    age_out_of_range: bool = False
    funding: str | None = None
    ovz: bool = False
    form: str | None = None
    keywords: tuple[str, ...] = field(default=())
    nearby: bool = False  # «рядом с домом»: the parent wants something close to home


def _is_faq(words: Sequence[str]) -> bool:
    for word in words:
        if word in _FAQ_EXACT:
            return True
        if any(word.startswith(stem) for stem in _FAQ_STEMS if stem not in _FAQ_EXACT):
            return True
    return False


def parse_program_query(text: str) -> ProgramQuery | None:
    """Read a free-text program search; None when the text is not clearly one.

    Conservative on purpose: a question about procedures («как записаться на
    кружок», «статус заявки») must reach the FAQ, so any procedural word, a long
    text, or several unknown words mean "not a search".
    """
    if not text or len(text) > MAX_QUERY_CHARS or text.lstrip().startswith("/"):
        return None
    norm = normalise(text)
    if not norm or len(norm.split()) > MAX_QUERY_WORDS:
        return None
    funding: str | None = None
    for pattern, value in _FUNDING_PATTERNS:
        if pattern.search(norm):
            funding = funding or value
            norm = pattern.sub(" ", norm)
    ovz = bool(_OVZ_RE.search(norm))
    norm = _OVZ_RE.sub(" ", norm)
    form: str | None = None
    for pattern, value in _FORM_PATTERNS:
        if pattern.search(norm):
            form = form or value
            norm = pattern.sub(" ", norm)
    if re.search(r"\bплатн\w*\b", norm):
        norm = re.sub(r"\bплатн\w*\b", " ", norm)
    nearby = bool(_NEARBY_RE.search(norm))
    norm = _NEARBY_RE.sub(" ", norm)
    age_answer, norm = find_age(norm)
    words = norm.split()
    if _is_faq(words):
        return None
    # «можно ...?» asks whether something is allowed: a question for the FAQ.
    if "можно" in words and "?" in text:
        return None
    subjects: dict[str, str] = {}  # stem → the word the parent typed
    direction_words: list[Direction] = []
    unknown: list[str] = []
    has_noun = False
    for word in words:
        if word in STOPWORDS or word in WEAK_NOUNS or word.isdigit():
            continue
        if word in PROGRAM_NOUNS:
            has_noun = True
            continue
        stem = subject_stem(word)
        if stem is not None:
            subjects.setdefault(stem, word)
            continue
        direction = parse_direction(word) if len(word) >= 5 else None
        if direction is not None:
            direction_words.append(direction)
            continue
        unknown.append(word)
    if len(unknown) > MAX_UNKNOWN_WORDS:
        return None
    # Only «кружок/секция»: a search when nothing else, or one subject-like word, is left.
    story = len(unknown) > 1 or any(_VERB_ENDING.search(w) or len(w) < 4 for w in unknown)
    if not subjects and not direction_words and (not has_noun or story):
        return None
    keywords = tuple(subjects.values()) if subjects else tuple(dict.fromkeys(unknown))
    direction = direction_words[0] if not subjects and len(set(direction_words)) == 1 else None
    return ProgramQuery(
        direction=direction,
        age=age_answer.age if age_answer else None,
        age_out_of_range=bool(age_answer and age_answer.out_of_range),
        funding=funding,
        ovz=ovz,
        form=form,
        keywords=keywords,
        nearby=nearby,
    )


def keywords_from_text(text: str) -> tuple[str, ...]:
    """Keywords of a plain query (`mocbot search --query`): its words minus stopwords."""
    words = normalise(text).split()
    skip = STOPWORDS | PROGRAM_NOUNS | WEAK_NOUNS
    return tuple(dict.fromkeys(w for w in words if w not in skip))


# --- ranking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """The columns ranking needs (the repository fetches only these)."""

    id: int
    title: str
    age_from: int
    age_to: int
    search_text: str
    district: str = ""


def _contains(text: str, stem: str) -> bool:
    """A word of `text` starts with `stem` (or is it, for «хор$»); the parts of a hyphenated
    word count as words («мини-футбол» holds «футбол»)."""
    if stem.endswith("$"):
        word = stem[:-1]
        return any(f"{a}{word}{b}" in text for a in " -" for b in " -")
    return f" {stem}" in text or f"-{stem}" in text


def like_patterns(alternatives: Iterable[str]) -> list[str]:
    """SQL LIKE patterns equivalent to `_contains` over the padded search text."""
    patterns: list[str] = []
    for a in alternatives:
        if a.endswith("$"):
            patterns += [f"%{x}{a[:-1]}{y}%" for x in " -" for y in " -"]
        else:
            patterns += [f"% {a}%", f"%-{a}%"]
    return patterns


def keyword_groups(keywords: Sequence[str]) -> list[tuple[str, ...]]:
    return [keyword_alternatives(k) for k in keywords]


def fuzzy_alternatives(keyword: str, vocabulary: Iterable[str], limit: int = 5) -> tuple[str, ...]:
    """Catalogue words close to a misspelt keyword («шахмты» → «шахматы»)."""
    stem = crude_stem(keyword)
    if len(stem) < 4:
        return ()
    found = process.extract(stem, list(vocabulary), scorer=fuzz.ratio, score_cutoff=80, limit=limit)
    prefix_hits = process.extract(
        stem, list(vocabulary), scorer=fuzz.partial_ratio, score_cutoff=90, limit=limit
    )
    words = [w for w, _, _ in found] + [w for w, _, _ in prefix_hits if w.startswith(stem[:3])]
    return tuple(dict.fromkeys(words))


def keyword_score(groups: Sequence[tuple[str, ...]], title: str, text: str) -> tuple[int, int]:
    """(keywords matched, weighted score).

    The parent's own word in the title weighs 4, a synonym in the title 3, a
    match in the description 1.
    """
    padded_title = search_text(title)
    matched = score = 0
    for alternatives in groups:
        if alternatives and _contains(padded_title, alternatives[0]):
            matched += 1
            score += 4
        elif any(_contains(padded_title, a) for a in alternatives):
            matched += 1
            score += 3
        elif any(_contains(text, a) for a in alternatives):
            matched += 1
            score += 1
    return matched, score


def rank(
    candidates: Iterable[Candidate], groups: Sequence[tuple[str, ...]], age: AgeRange | None
) -> list[int]:
    """Candidate ids, best first: keyword relevance, then age fit, then title.

    With keywords, candidates matching none of them are dropped.
    """
    keyed: list[tuple[tuple[int, int, int, str], int]] = []
    for c in candidates:
        matched, score = keyword_score(groups, c.title, c.search_text) if groups else (0, 0)
        if groups and matched == 0:
            continue
        fit = age.fit(c.age_from, c.age_to) if age else 0
        keyed.append(((-matched, -score, fit, c.title.casefold()), c.id))
    keyed.sort()
    return [pid for _, pid in keyed]
