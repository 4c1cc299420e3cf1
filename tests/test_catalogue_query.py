"""Pure search logic: free-text intent, ages, keywords and ranking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.directions import Direction
from bot.services.catalogue.importer import navigator_url
from bot.services.catalogue.query import (
    SUBJECT_PHRASES,
    SYNONYMS,
    AgeRange,
    Candidate,
    join_phrases,
    keyword_alternatives,
    keywords_from_text,
    parse_age,
    parse_program_query,
    rank,
    search_text,
    subject_phrase,
    subject_stem,
)


@pytest.mark.parametrize(
    ("text", "keyword", "age", "funding"),
    [
        ("робототехника для 10 лет", "робототехника", AgeRange(10, 10), None),
        ("танцы девочке 7 лет бесплатно", "танцы", AgeRange(7, 7), "free"),
        ("шахматы", "шахматы", None, None),
        ("кружок рисования", "рисования", None, None),
        ("секция футбола рядом", "футбола", None, None),
        ("Плавание сыну 8 лет по сертификату", "плавание", AgeRange(8, 8), "cert"),
        ("кружок оригами", "оригами", None, None),
        ("вокал 10-12 лет", "вокал", AgeRange(10, 12), None),
        ("ребенку 9, робототехника", "робототехника", AgeRange(9, 9), None),
        ("ХОРЕОГРАФИЯ для дочки 6 лет", "хореография", AgeRange(6, 6), None),
    ],
)
def test_program_searches_are_recognised(
    text: str, keyword: str, age: AgeRange | None, funding: str | None
) -> None:
    query = parse_program_query(text)
    assert query is not None
    assert query.keywords == (keyword,)
    assert query.age == age
    assert query.funding == funding


@pytest.mark.parametrize(
    "text",
    [
        "как записаться на кружок",
        "как получить сертификат",
        "что такое навигатор",
        "статус заявки",
        "Как записать ребенка в секцию футбола?",
        "почему не приходит письмо",
        "сертификат для 10 лет",
        "можно ли оплатить кружок сертификатом?",
        "в нашу секцию по футболу можно сертификатом платить",
        "хотим на танцы и на шахматы, можно обе?",
        "можно в кружок рисования в середине года?",
        "здравствуйте",
        "спасибо",
        "10 лет",
        "где взять снилс ребенка",
        "заявка на кружок робототехники отклонена что делать",
        "у нас вопрос про шахматы: когда начинаются занятия и сколько стоит абонемент в месяц",
        "занятия отменили",
        "кружок не работает",
        "программа не открывается",
        "привет",
        "секция закрылась",
        "в садике карантин?",  # «карантин» is a real word, not a misspelt «карате»
    ],
)
def test_faq_questions_and_chatter_are_not_searches(text: str) -> None:
    assert parse_program_query(text) is None


def test_direction_words_without_a_subject_set_the_direction() -> None:
    query = parse_program_query("спортивные секции для 8 лет")
    assert query is not None
    assert query.direction is Direction.SPORT and query.age == AgeRange(8, 8) and query.keywords == ()


def test_a_subject_wins_over_a_misleading_adjective() -> None:
    # «Художественная гимнастика» is физкультурно-спортивная, not художественная.
    query = parse_program_query("художественная гимнастика")
    assert query is not None
    assert query.direction is None and query.keywords == ("гимнастика",)


@pytest.mark.parametrize(("text", "stem"), [("шахмты", "шахмат"), ("шахмты для 10 лет", "шахмат")])
def test_a_misspelt_subject_alone_is_a_search(text: str, stem: str) -> None:
    query = parse_program_query(text)
    assert query is not None and subject_stem(query.keywords[0]) == stem


def test_out_of_range_age_in_free_text_is_flagged() -> None:
    query = parse_program_query("футбол для 25 лет")
    assert query is not None and query.age is None and query.age_out_of_range


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", AgeRange(10, 10)),
        ("5 лет", AgeRange(5, 5)),
        ("ребенку 10", AgeRange(10, 10)),
        ("10-12", AgeRange(10, 12)),
        ("12 – 10", AgeRange(10, 12)),
        ("от 7 до 9 лет", AgeRange(7, 9)),
        ("десять", AgeRange(10, 10)),
        ("Сыну 8 годиков", AgeRange(8, 8)),
        ("4", AgeRange(4, 4)),
        ("три года", AgeRange(3, 3)),
        ("от четырех до шести лет", AgeRange(4, 6)),
    ],
)
def test_typed_ages(text: str, expected: AgeRange) -> None:
    answer = parse_age(text)
    assert answer is not None and answer.age == expected


@pytest.mark.parametrize("text", ["40", "2 года", "0", "17-25", "999"])
def test_typed_ages_out_of_range(text: str) -> None:
    answer = parse_age(text)
    assert answer is not None and answer.age is None and answer.out_of_range


def test_text_without_a_number_is_not_an_age() -> None:
    assert parse_age("не знаю") is None


@given(st.integers(min_value=-50, max_value=200))
def test_any_typed_number_is_an_age_or_out_of_range(n: int) -> None:
    answer = parse_age(str(n))
    assert answer is not None
    if 3 <= n <= 18:  # what the catalogue holds (the importer takes 3-18)
        assert answer.age == AgeRange(n, n)
    else:
        assert answer.age is None and answer.out_of_range


@given(st.text(max_size=200))
def test_parser_never_fails_and_keeps_ages_in_range(text: str) -> None:
    query = parse_program_query(text)
    if query is not None and query.age is not None:
        assert 3 <= query.age.low <= query.age.high <= 18
        assert AgeRange.parse_code(str(query.age)) == query.age


FAQ_WORDS = ["как", "сертификат", "заявка", "навигатор", "записаться", "статус", "госуслуги", "почему"]


@given(
    st.lists(st.sampled_from(["танцы", "кружок", "для", "10", "лет", "шахматы", "робототехника", "секция"])),
    st.sampled_from(FAQ_WORDS),
    st.integers(min_value=0, max_value=6),
)
def test_a_procedural_word_always_leaves_the_text_to_the_faq(words: list[str], faq: str, at: int) -> None:
    words.insert(min(at, len(words)), faq)
    assert parse_program_query(" ".join(words)) is None


@given(st.sampled_from(["5", "10", "10-12", "18", "7-9"]))
def test_age_codes_round_trip(code: str) -> None:
    age = AgeRange.parse_code(code)
    assert age is not None and str(age) == code


@pytest.mark.parametrize("code", ["", "2", "19", "abc", "10-", "12-10", "1-2-3", "10:12"])
def test_bad_age_codes_are_refused(code: str) -> None:
    assert AgeRange.parse_code(code) is None


def test_synonyms_reach_programs_that_never_say_the_word() -> None:
    assert "хореограф" in keyword_alternatives("танцы")
    assert "изобразит" in keyword_alternatives("рисование")
    assert "лего" in keyword_alternatives("робот")
    assert keyword_alternatives("робототехника")[0] == "робототехник"


def test_keywords_from_text_drop_stopwords() -> None:
    assert keywords_from_text("кружок робототехники для детей") == ("робототехники",)


def _c(pid: int, title: str, low: int, high: int, description: str = "") -> Candidate:
    return Candidate(pid, title, low, high, search_text(title, description))


def test_rank_keyword_relevance_then_age_fit_then_title() -> None:
    groups = [keyword_alternatives("робототехника")]
    candidates = [
        _c(1, "Лего-конструирование", 9, 11),  # synonym in the title
        _c(2, "Робототехника «Старт»", 14, 17),  # the word itself, poor age fit
        _c(3, "Робототехника «Ардуино»", 9, 11),  # the word itself, good age fit
        _c(4, "Юный техник", 9, 11, "Собираем роботов"),  # only in the description
        _c(5, "Шахматы", 9, 11),  # no match: dropped
        _c(6, "Авиамоделирование", 9, 11, "Модели самолётов"),  # no match: dropped
        _c(7, "Робототехника «Альфа»", 9, 11),  # ties with 3 on fit: title order
    ]
    assert rank(candidates, groups, AgeRange(10, 10)) == [7, 3, 2, 1, 4]


def test_rank_without_keywords_orders_by_age_fit() -> None:
    candidates = [_c(1, "Б", 5, 18), _c(2, "А", 9, 11), _c(3, "В", 10, 12)]
    assert rank(candidates, [], AgeRange(10, 10)) == [2, 3, 1]


def test_whole_word_stems_do_not_match_longer_words() -> None:
    groups = [keyword_alternatives("изо")]
    candidates = [_c(1, "Мастерская изобретателя", 9, 11), _c(2, "ИЗО для малышей", 5, 7)]
    assert rank(candidates, groups, None) == [2]


def test_navigator_links_become_ascii_urls() -> None:
    url = navigator_url("https://р38.навигатор.дети/program/10001")
    assert url == "https://xn--38-kmc.xn--80aafey1amqq.xn--d1acj3b/program/10001"
    assert navigator_url("https://example.org/a b?x=1") == "https://example.org/a%20b?x=1"
    assert navigator_url("ftp://example.org") is None
    assert navigator_url("не ссылка") is None


# --- issue 12: ages the catalogue holds, free text that understands, headers ------------------


@pytest.mark.parametrize(
    ("text", "keywords", "age"),
    [
        ("шахматы 4 года", ("шахматы",), AgeRange(4, 4)),
        ("танцы для ребенка трех лет", ("танцы",), AgeRange(3, 3)),
        ("кружки для ребенка 8 лет", (), AgeRange(8, 8)),
        ("секции для сына 10 лет", (), AgeRange(10, 10)),
    ],
)
def test_ages_from_three_and_ages_without_a_subject(
    text: str, keywords: tuple[str, ...], age: AgeRange
) -> None:
    query = parse_program_query(text)
    assert query is not None and query.keywords == keywords and query.age == age


@pytest.mark.parametrize(
    "text",
    [
        "секция футбола рядом с домом",
        "футбол поблизости",
        "танцы недалеко от дома для 7 лет",
        "кружок рисования в нашем районе",
        "ближайшая секция плавания",
        "шахматы возле дома",
    ],
)
def test_nearby_is_understood_not_dropped(text: str) -> None:
    query = parse_program_query(text)
    assert query is not None and query.nearby and len(query.keywords) == 1


def test_nearby_words_are_not_keywords() -> None:
    query = parse_program_query("кружок в шаговой доступности")
    assert query is not None and query.nearby and query.keywords == ()


@pytest.mark.parametrize(
    ("word", "phrase"),
    [
        ("футбола", "по футболу"),
        ("футбол", "по футболу"),
        ("футбольная", "по футболу"),
        ("шахматы", "по шахматам"),
        ("шахмты", "по шахматам"),  # a typo is named correctly, never quoted back
        ("танцев", "по танцам"),
        ("рисования", "по рисованию"),
        ("робототехника", "по робототехнике"),
        ("кулинарии", "по кулинарии"),  # not in the table: the dictionary's dative
        ("оригами", "по оригами"),
    ],
)
def test_subjects_are_named_in_plain_words(word: str, phrase: str) -> None:
    assert subject_phrase(word) == phrase


def test_a_word_nothing_knows_has_no_phrase() -> None:
    assert subject_phrase("бдыщщ") is None


def test_phrases_join_naturally() -> None:
    assert join_phrases(["по футболу"]) == "по футболу"
    assert join_phrases(["по футболу", "по плаванию", "по футболу"]) == "по футболу и плаванию"
    assert join_phrases(["по футболу", "по плаванию", "по шахматам"]) == "по футболу, плаванию и шахматам"
    assert join_phrases(["по футболу", "о космосе"]) == "по футболу и о космосе"


def test_every_subject_of_the_synonym_table_has_a_phrase() -> None:
    assert set(SUBJECT_PHRASES) == set(SYNONYMS)
