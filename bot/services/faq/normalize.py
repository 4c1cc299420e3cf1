"""Russian as parents type it, reduced to comparable lemmas.

Pure functions, no I/O: case and ё, emoji and punctuation, repeated letters,
text typed with the Latin keyboard layout, slang and abbreviations, common
misspellings, and morphology (pymorphy3 lemmas, cached).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# --- keyboard layout ----------------------------------------------------------------
_EN = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
_RU = "йцукенгшщзхъфывапролджэячсмитьбюё"
LAYOUT_EN_RU = str.maketrans(_EN + _EN.upper(), _RU + _RU.upper())
_LATIN_CHUNK = re.compile(r"^[a-z\[\];',.`]+$", re.IGNORECASE)
_HAS_LATIN = re.compile(r"[a-z]", re.IGNORECASE)

# --- tokens -------------------------------------------------------------------------
_WORD = re.compile(r"[a-zа-я0-9]+")
_REPEATS = re.compile(r"([а-яa-z])\1{2,}")
_TAGS = re.compile(r"<[^>]{0,200}>")

# Slang, abbreviations and frequent misspellings -> standard words (already lower-case, ё→е).
# Values may hold several words. Applied before lemmatisation.
SLANG: dict[str, str] = {
    # the certificate
    "серт": "сертификат",
    "серта": "сертификат",
    "серту": "сертификат",
    "серте": "сертификат",
    "сертом": "сертификат",
    "серты": "сертификат",
    "сертик": "сертификат",
    "сертиф": "сертификат",
    "сертифкат": "сертификат",
    "сертефикат": "сертификат",
    "сертификад": "сертификат",
    "сиртификат": "сертификат",
    "сертификать": "сертификат",
    "соцсерт": "социальный сертификат",
    "соцсерта": "социальный сертификат",
    "соцсертификат": "социальный сертификат",
    "соцсертификата": "социальный сертификат",
    "соц": "социальный",
    "пфдо": "пфдо сертификат",
    "пфо": "пфдо сертификат",
    "пф": "пфдо сертификат",
    # additional education
    "допы": "кружок дополнительный",
    "допов": "кружок дополнительный",
    "доп": "дополнительный",
    "допобразование": "дополнительный образование",
    "допобразования": "дополнительный образование",
    "доп.образование": "дополнительный образование",
    "дод": "дополнительный образование",
    "кружек": "кружок",
    "кружки": "кружок",
    "крушок": "кружок",
    "секцыя": "секция",
    # the Navigator
    "навик": "навигатор",
    "навика": "навигатор",
    "навике": "навигатор",
    "навиг": "навигатор",
    "навигат": "навигатор",
    "навегатор": "навигатор",
    "новигатор": "навигатор",
    "навигатар": "навигатор",
    "навигатр": "навигатор",
    "нави": "навигатор",
    "лк": "личный кабинет",
    "личка": "личный кабинет",
    "ак": "аккаунт",
    "акк": "аккаунт",
    "акаунт": "аккаунт",
    "учетка": "аккаунт",
    "учетку": "аккаунт",
    "учетки": "аккаунт",
    "рега": "регистрация",
    "регу": "регистрация",
    "регистрацыя": "регистрация",
    "зарегаться": "зарегистрироваться",
    "зарегатся": "зарегистрироваться",
    "зарегался": "зарегистрироваться",
    "зарегалась": "зарегистрироваться",
    "зарегать": "зарегистрировать",
    "зарегистрироватся": "зарегистрироваться",
    "зарегестрироваться": "зарегистрироваться",
    "зарегестрироватся": "зарегистрироваться",
    "зарегиться": "зарегистрироваться",
    "зарегнуться": "зарегистрироваться",
    "регаться": "регистрироваться",
    "регатся": "регистрироваться",
    "регаюсь": "регистрироваться",
    "регнуться": "зарегистрироваться",
    "регистрироватся": "регистрироваться",
    "отчислица": "отчислиться",
    "отчислитса": "отчислиться",
    "пароль": "пароль",
    "парол": "пароль",
    "логин": "логин",
    "емейл": "почта",
    "имейл": "почта",
    "емайл": "почта",
    "мейл": "почта",
    "email": "почта",
    "e-mail": "почта",
    "мыло": "почта",
    "почту": "почта",
    # Госуслуги
    "госы": "госуслуги",
    "госах": "госуслуги",
    "госуслугах": "госуслуги",
    "госуслуг": "госуслуги",
    "госуслугами": "госуслуги",
    "гос.услуги": "госуслуги",
    "гу": "госуслуги",
    "есиа": "госуслуги",
    "гослуги": "госуслуги",
    "госуслуг1": "госуслуги",
    # everyday spelling
    "скока": "сколько",
    "скоко": "сколько",
    "сколка": "сколько",
    "щас": "сейчас",
    "ща": "сейчас",
    "счас": "сейчас",
    "чо": "что",
    "че": "что",
    "чё": "что",
    "шо": "что",
    "што": "что",
    "чтоли": "что",
    "незнаю": "не знать",
    "неполучается": "не получаться",
    "нету": "нет",
    "тыс": "тысяча",
    "руб": "рубль",
    "р": "рубль",
    "мес": "месяц",
    "плиз": "пожалуйста",
    "пожалуста": "пожалуйста",
    "пожайлуста": "пожалуйста",
    "пришол": "пришел",
    "ошыбка": "ошибка",
    "ошибко": "ошибка",
    "заевка": "заявка",
    "пжл": "пожалуйста",
    "пож": "пожалуйста",
    "пжлст": "пожалуйста",
    "спс": "спасибо",
    "сяп": "спасибо",
    "пасиб": "спасибо",
    "пасибо": "спасибо",
    "благодарочка": "спасибо",
    "здрасьте": "здравствуйте",
    "здрасте": "здравствуйте",
    "здраствуйте": "здравствуйте",
    "здравствуй": "здравствуйте",
    "здр": "здравствуйте",
    "прив": "привет",
    "приветик": "привет",
    "хай": "привет",
    "ребенку": "ребенок",
    "ребенка": "ребенок",
    "реб": "ребенок",
    "дочке": "дочь",
    "дочка": "дочь",
    "сыну": "сын",
    "овз": "овз",
    "пмпк": "пмпк",
    "мфц": "мфц",
    "моц": "моц",
    "рмц": "рмц",
    "снилс": "снилс",
    "снилса": "снилс",
    "снилсом": "снилс",
    "снилсу": "снилс",
    "свидетельство": "свидетельство",
    "свид": "свидетельство",
    "свидетельсво": "свидетельство",
    "спорт": "спорт",
    "робототехника": "робототехника",
    "лет": "год",
    "годиков": "год",
}

# Lemmas this domain reads one way: «кружки» are clubs here, not mugs.
LEMMA_MAP: dict[str, str] = {
    "кружка": "кружок",
    "госуслуги": "госуслуга",
    "сертификатный": "сертификат",
    "навигаторный": "навигатор",
}

# Lemmas that mean the same in this domain: each adds its canonical lemma, so
# «малоимущим» meets «льготы» and «инвалидной» meets «ОВЗ» (content and questions alike).
SYNONYMS: dict[str, str] = {
    "инвалид": "овз",
    "инвалидность": "овз",
    "инвалидный": "овз",
    "малоимущий": "льгота",
    "многодетный": "льгота",
    "льготник": "льгота",
    "льготный": "льгота",
    "перевыпуск": "повторно",
    "перевыпустить": "повторно",
    "переоформить": "повторно",
    "переоформление": "повторно",
    "заново": "повторно",
    "дубль": "дубликат",
    "двойной": "дубликат",
    "задвоиться": "дубликат",
    "дважды": "дубликат",
    "бросить": "отчислиться",
    "отчислить": "отчислиться",
    "отчисление": "отчислиться",
    "бумажка": "бумажный",
    "распечатать": "бумажный",
    "распечатка": "бумажный",
    "сгореть": "сгорать",
    "пропасть": "сгорать",
    "начислить": "пополниться",
    "начисление": "пополниться",
    "пополнить": "пополниться",
    "обновиться": "пополниться",
    "обновляться": "пополниться",
    "оплачиваться": "оплата",
    "оплатить": "оплата",
    "платить": "оплата",
    "заплатить": "оплата",
    "положить": "право",
    "отфильтровать": "фильтр",
    "фильтровать": "фильтр",
    "туристско": "направленность",
    "краеведческий": "направленность",
    "естественнонаучный": "направленность",
    "гуманитарный": "направленность",
    "физкультурно": "направленность",
    # Official headings name an action by a noun («Получение сертификата», «Порядок зачисления»):
    # each such noun also adds the verb parents use, so a heading meets the questions.
    "получение": "получить",
    "оформление": "оформить",
    "подтверждение": "подтвердить",
    "регистрация": "зарегистрироваться",
    "восстановление": "восстановить",
    "зачисление": "зачислить",
    "запись": "записаться",
    "изменение": "изменить",
    "удаление": "удалить",
    "добавление": "добавить",
    "выдача": "выдать",
    "использование": "использовать",
    "расторжение": "расторгнуть",
    "подписание": "подписать",
    "настройка": "настроить",
    "смена": "сменить",
    "поиск": "найти",
    "выбор": "выбрать",
    "активация": "активировать",
    "аннулирование": "аннулировать",
    "отказ": "отказаться",
    "подача": "подать",
    "рассмотрение": "рассмотреть",
    "исправление": "исправить",
    "редактирование": "редактировать",
    "просмотр": "посмотреть",
    "пополнение": "пополниться",
    "списание": "списать",
    "резервирование": "зарезервировать",
    "возврат": "вернуть",
    "посещение": "ходить",
    "продление": "продлить",
    "вход": "войти",
    "авторизация": "войти",
    "передача": "передать",
    "ограничение": "ограничить",
}

# Upper-case abbreviations that are ordinary words in lower case («до 18 лет»).
UPPER_ABBREVIATIONS: dict[str, str] = {
    "ДО": "дополнительный образование",
    "ДОД": "дополнительный образование",
    "ГУ": "госуслуги",
    "ЛК": "личный кабинет",
}

# Function words carrying no topic (pymorphy also drops prepositions, conjunctions,
# particles and interjections by part of speech).
STOP_LEMMAS: frozenset[str] = frozenset(
    [
        "а",
        "и",
        "или",
        "но",
        "да",
        "же",
        "ли",
        "бы",
        "то",
        "это",
        "этот",
        "эта",
        "эти",
        "тот",
        "та",
        "те",
        "так",
        "там",
        "тут",
        "здесь",
        "вот",
        "вон",
        "ну",
        "я",
        "мы",
        "ты",
        "вы",
        "он",
        "она",
        "оно",
        "они",
        "мой",
        "моя",
        "мое",
        "мои",
        "наш",
        "наша",
        "наше",
        "наши",
        "ваш",
        "ваша",
        "ваше",
        "ваши",
        "свой",
        "его",
        "ее",
        "их",
        "нам",
        "нас",
        "вам",
        "вас",
        "мне",
        "меня",
        "тебе",
        "тебя",
        "ему",
        "ей",
        "им",
        "ими",
        "себя",
        "себе",
        "весь",
        "всё",
        "все",
        "быть",
        "есть",
        "который",
        "какой-то",
        "какой-нибудь",
        "кто-то",
        "что-то",
        "где-то",
        "куда-то",
        "уже",
        "еще",
        "ещё",
        "очень",
        "просто",
        "вообще",
        "вроде",
        "типа",
        "как-то",
        "либо",
        "тоже",
        "также",
        "пожалуйста",
        "подсказать",
        "подскажите",
        "скажите",
        "сказать",
        "помочь",
        "помогите",
        "спасибо",
        "здравствуйте",
        "привет",
        "добрый",
        "день",
        "вечер",
        "утро",
        "доброе",
    ]
)
_DROP_POS = frozenset({"PREP", "CONJ", "PRCL", "INTJ"})
# ... except the ones that change what is asked: «без сертификата» is not «сертификат»
MEANINGFUL_FUNCTION_WORDS = frozenset({"без"})


def switch_layout(text: str) -> str:
    """Retype text as if the Russian keyboard layout had been on (`cthnbabrfn` → `сертификат`)."""
    return text.translate(LAYOUT_EN_RU)


def _clean(text: str) -> str:
    return _TAGS.sub(" ", text).replace("ё", "е").replace("Ё", "Е")


@dataclass(frozen=True)
class Normalized:
    """The result of normalising one question."""

    tokens: tuple[str, ...]  # lemmas of content words, in order
    text: str  # normalised surface text (lower case, one space between words)
    latin_words: int  # words left in Latin letters (not a layout slip)
    words: int  # all words seen


class Normalizer:
    """Turns raw text into lemmas; `known` tells which lemmas the index has.

    `vocabulary` (lemmas of the knowledge base) lets layout detection and typo
    correction prefer words the index knows; it is set once the index is built.
    """

    def __init__(self, vocabulary: Iterable[str] = ()) -> None:
        import pymorphy3

        self._morph: Any = pymorphy3.MorphAnalyzer()
        self.vocabulary: frozenset[str] = frozenset(vocabulary)
        self._vocab_list: list[str] = sorted(self.vocabulary)
        # Per-instance caches (the vocabulary changes the answer of `_correct`).
        self._parse = lru_cache(maxsize=200_000)(self._parse_uncached)
        self._correct = lru_cache(maxsize=50_000)(self._correct_uncached)
        self._known = lru_cache(maxsize=50_000)(self._known_uncached)

    def with_vocabulary(self, vocabulary: Iterable[str]) -> Normalizer:
        clone = Normalizer.__new__(Normalizer)
        clone._morph = self._morph
        clone.vocabulary = frozenset(vocabulary)
        clone._vocab_list = sorted(clone.vocabulary)
        clone._parse = self._parse  # lemmas do not depend on the vocabulary
        clone._known = self._known
        clone._correct = lru_cache(maxsize=50_000)(clone._correct_uncached)
        return clone

    # --- morphology -----------------------------------------------------------------
    def _parse_uncached(self, word: str) -> tuple[str, bool]:
        """(lemma, is function word)."""
        if word.isdigit():
            return word, False
        parse = self._morph.parse(word)[0]
        pos = parse.tag.POS
        lemma = str(parse.normal_form).replace("ё", "е")
        return LEMMA_MAP.get(lemma, lemma), pos in _DROP_POS and lemma not in MEANINGFUL_FUNCTION_WORDS

    def _known_uncached(self, word: str) -> bool:
        return bool(self._morph.word_is_known(word))

    def _correct_uncached(self, word: str) -> str | None:
        """The vocabulary lemma a misspelt word most likely means, or None."""
        if len(word) < 5 or not self._vocab_list:
            return None
        from rapidfuzz import fuzz, process
        from rapidfuzz.distance import Levenshtein

        best = process.extractOne(
            word,
            self._vocab_list,
            scorer=Levenshtein.normalized_similarity,
            score_cutoff=0.75 if len(word) >= 8 else 0.8,
        )
        if best is None:
            # a word with an inflection we do not know: compare the stems
            best2 = process.extractOne(word, self._vocab_list, scorer=fuzz.ratio, score_cutoff=88)
            return str(best2[0]) if best2 else None
        return str(best[0])

    def is_known(self, word: str) -> bool:
        """Whether the dictionary knows this lower-case word (a misspelt one it does not)."""
        return bool(self._known(word))

    def lemma(self, word: str) -> str | None:
        """Lemma of one lower-case word; None for function words."""
        lemma, drop = self._parse(word)
        if drop:
            return None
        if self.vocabulary and lemma not in self.vocabulary and not word.isdigit() and not self._known(word):
            fixed = self._correct(word)
            if fixed is not None:
                return fixed
        return lemma

    # --- layout ---------------------------------------------------------------------
    def _looks_russian(self, word: str) -> bool:
        word = word.strip(",.;'[]`")
        if len(word) < 2:
            return False
        if word in SLANG or word in self.vocabulary:
            return True
        return self._known(word) and (len(word) >= 4 or self._parse(word)[0] in self.vocabulary)

    def fix_layout(self, text: str) -> str:
        """Retype Latin chunks typed with the wrong layout, when most of them make Russian words."""
        chunks = text.split()
        latin = [i for i, c in enumerate(chunks) if _HAS_LATIN.search(c) and _LATIN_CHUNK.match(c)]
        if not latin:
            return text
        converted = {i: switch_layout(chunks[i].lower()) for i in latin}
        good = sum(1 for i in latin if self._looks_russian(converted[i]))
        if good * 2 < len(latin) or good == 0:
            return text
        return " ".join(converted.get(i, c) for i, c in enumerate(chunks))

    # --- the pipeline ---------------------------------------------------------------
    def normalize(self, text: str) -> Normalized:
        text = self.fix_layout(_clean(text))
        expanded: list[str] = []
        for raw in re.findall(r"[A-Za-zА-Яа-яЁё0-9.\-]+", text):
            for part in re.split(r"[.\-]+", raw) if raw not in SLANG else [raw]:
                if part in UPPER_ABBREVIATIONS:
                    expanded.extend(UPPER_ABBREVIATIONS[part].split())
                    continue
                word = _REPEATS.sub(r"\1", part.lower())
                if not word:
                    continue
                expanded.extend(SLANG.get(word, word).split())
        tokens: list[str] = []
        surface: list[str] = []
        latin_words = 0
        for word in expanded:
            if not _WORD.fullmatch(word):
                continue
            surface.append(word)
            if _HAS_LATIN.search(word):
                latin_words += 1
                continue
            lemma = self.lemma(word)
            if lemma is None or lemma in STOP_LEMMAS:
                continue
            tokens.append(lemma)
            if lemma in SYNONYMS:
                tokens.append(SYNONYMS[lemma])
        return Normalized(tuple(tokens), " ".join(surface), latin_words, len(surface))
