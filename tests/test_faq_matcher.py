"""The FAQ matcher and the knowledge base loader: unit and property tests, and the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content import ContentError, load_content
from bot.services.faq.engine import build_matcher, knowledge_base, shared_normalizer
from bot.services.faq.knowledge import REQUIRED_IDS
from bot.services.faq.matcher import Decision, IndexEntry, Matcher, MatchResult, Thresholds, _Classifier
from bot.services.faq.normalize import switch_layout
from bot.services.faq.service import normalize_for_report
from bot.settings import PROJECT_ROOT

CONTENT = PROJECT_ROOT / "content"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return build_matcher(knowledge_base(load_content(CONTENT)))


def test_shipped_content_has_required_topics_and_many_phrasings() -> None:
    kb = knowledge_base(load_content(CONTENT))
    assert len(kb) >= 80
    for rid in REQUIRED_IDS:
        entry = kb.get(rid)
        assert entry is not None, rid
        assert len(entry.questions) >= 10, rid


def test_normalisation_case_yo_punctuation_repeats_and_morphology() -> None:
    norm = shared_normalizer()
    a = norm.normalize("СЕРТИФИКАТА!!! 😀 ещё")
    b = norm.normalize("сертификатом")
    assert a.tokens[0] == b.tokens[0] == "сертификат"
    assert norm.normalize("сертификааааат").tokens == ("сертификат",)
    assert norm.normalize("серт").tokens == ("сертификат",)
    assert norm.normalize("навик").tokens == ("навигатор",)
    assert "госуслуга" in norm.normalize("через госы").tokens
    assert norm.normalize("ДО").tokens == ("дополнительный", "образование")
    assert norm.normalize("до 18 лет").tokens == ("18", "год")


def test_wrong_layout_is_retyped() -> None:
    assert switch_layout("cthnbabrfn") == "сертификат"
    norm = shared_normalizer()
    assert norm.normalize("xnj nfrjt cthnbabrfn").tokens[-1] == "сертификат"
    # English stays English
    assert norm.normalize("how to get a certificate").latin_words == 5


def test_typos_are_corrected_against_the_vocabulary(matcher: Matcher) -> None:
    assert matcher.normalizer is not None
    assert "навигатор" in matcher.normalizer.normalize("навегатор").tokens
    assert "сертификат" in matcher.normalizer.normalize("сертификатт").tokens


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("серт на кружки как получить??", "certificate-how-to-get"),
        ("навегатор не пускает", "navigator-login"),
        ("xnj nfrjt cthnbabrfn", "certificate-what"),
        ("как подать заявку на программу в навигаторе", "navigator-apply"),
    ],
)
def test_typical_questions_are_answered(matcher: Matcher, question: str, expected: str) -> None:
    result = matcher.match(question)
    assert result.decision is Decision.ANSWER
    assert result.id == expected


@pytest.mark.parametrize(
    "question", ["как оформить", "какие нужны документы", "хочу пожаловаться", "помогите"]
)
def test_everyday_words_alone_never_answer(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).decision is not Decision.ANSWER


@pytest.mark.parametrize(
    ("question", "where"),
    [
        ("какая погода завтра", "other"),
        ("как оформить пособие на ребенка", "sfr"),
        ("егэ когда", "school"),
        ("как встать в очередь в садик", "kindergarten"),
        ("госуслуги не пускают, пароль не подходит", "gosuslugi-account"),
        ("справка 086у для колледжа где взять", "health"),
        # a neighbour's phrase with whom it is about inside it
        ("хотим перевести дочь в другую школу", "school"),
    ],
)
def test_out_of_scope_is_redirected(matcher: Matcher, question: str, where: str) -> None:
    result = matcher.match(question)
    assert result.decision is Decision.REDIRECT and result.redirect == where
    assert result.as_json()["id"] is None and result.as_json()["redirect"] == where


@pytest.mark.parametrize(
    "question",
    [
        "запишите к врачу через госуслуги",
        "подать заявление в первый класс на госуслугах",
        "пополнить карту школьника",
        # «кабинет» is Госуслуги's word too: it does not let the preschooler's entry claim «сад»
        "как отозвать заявление в детский сад в личном кабинете",
    ],
)
def test_neighbouring_services_get_no_confident_answer(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).decision is not Decision.ANSWER


def test_without_is_part_of_the_question(matcher: Matcher) -> None:
    # «без» is kept: one word «сертификат» must not land on «можно ли без сертификата»
    assert matcher.match("сертификат").candidates[0].id == "certificate-what"
    assert matcher.match("cthnbabrfn").id != "certificate-without"
    assert matcher.match("можно ли ходить в кружок без сертификата").id == "certificate-without"


def test_an_entry_keeps_a_neighbours_word_it_claims(matcher: Matcher) -> None:
    # «садик» is the kindergarten's word, but the preschooler's certificate claims it by its
    # keywords when the question is also about our things
    assert matcher.match("кружок в детском саду можно оплатить сертификатом").decision is Decision.ANSWER
    assert matcher.match("как встать в очередь в садик").decision is Decision.REDIRECT


def test_a_general_question_is_asked_back(matcher: Matcher) -> None:
    for question in ("Что делать с сертификатом?", "помогите с навигатором", "вопрос по заявке"):
        result = matcher.match(question)
        assert result.decision is Decision.CLARIFY and result.clarify is not None, question
        assert 2 <= len(result.candidates) <= 4
        data = result.as_json()
        assert data["decision"] == "clarify" and len(data["candidates"]) == len(result.candidates)  # type: ignore[arg-type]
    # anything more specific is matched as usual
    assert matcher.match("как получить сертификат").decision is Decision.ANSWER


def test_a_long_story_is_matched_on_its_question_too() -> None:
    from bot.services.faq.matcher import focus

    story = (
        "Здравствуйте. Мы долго выбирали кружок, ходили по школам и домам творчества. "
        "В итоге нашли танцы недалеко от дома, ребёнок очень хочет. Как записаться на программу?"
    )
    assert focus(story) == "Как записаться на программу?"
    assert focus("как записаться на программу?") is None  # short: the whole text is the question


def test_a_weak_match_with_a_foreign_word_is_not_ours(matcher: Matcher) -> None:
    # «сертификат» is ours, but a gift certificate is not: no odd suggestions
    result = matcher.match("подарочный сертификат в детский мир вернуть")
    assert result.decision in (Decision.REDIRECT, Decision.FALLBACK)


def test_a_multiword_keyword_is_a_domain_signal() -> None:
    def index(keywords: list[str], thresholds: Thresholds) -> Matcher:
        add = [
            "как добавить ребенка",
            "не получается добавить ребенка в кабинет",
            "куда вносить данные ребенка",
        ]
        return Matcher(
            [
                IndexEntry("add", "Добавить ребенка", add, keywords),
                IndexEntry("nav", "Про навигатор", ["что такое навигатор", "где навигатор"], ["навигатор"]),
            ],
            thresholds=thresholds,
            normalizer=shared_normalizer(),
        )

    # no domain word in the question: only the entry's specific two-word keyword makes it confident
    no_strong = Thresholds(strong=2.0)
    assert index(["добавить ребенка"], no_strong).match("как добавить ребенка").decision is Decision.ANSWER
    assert index(["ребенок"], no_strong).match("как добавить ребенка").decision is Decision.SUGGEST
    # ... or a very clear match: the question is one of the entry's phrasings
    assert index(["ребенок"], Thresholds()).match("как добавить ребенка").decision is Decision.ANSWER
    # ... but not when the question has a telling word the entry never uses
    in_a_bank = index(["ребенок"], Thresholds()).match("как добавить ребенка в банк")
    assert in_a_bank.decision is not Decision.ANSWER


def test_a_clear_match_without_a_domain_word_needs_all_its_words_in_the_topic(matcher: Matcher) -> None:
    # a heading's noun counts through the verb it adds («Настройка» -> «настроить»)
    assert matcher.match("Настройка оповещений").decision is Decision.ANSWER
    # «адрес» is in the МОЦ's contacts, «госуслуги» is not
    assert matcher.match("как указать адрес почты в госуслугах").decision is not Decision.ANSWER


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Привет!", "greeting"),
        ("добрый день", "greeting"),
        ("спасибо большое!", "thanks"),
        ("ты бот?", "bot"),
        ("ghbdtn", "greeting"),  # «привет» in the wrong layout
        ("cgfcb,j", "thanks"),  # «спасибо»
    ],
)
def test_smalltalk(matcher: Matcher, question: str, kind: str) -> None:
    result = matcher.match(question)
    assert result.decision is Decision.SMALLTALK and result.smalltalk == kind


def test_greeting_with_a_question_is_a_question(matcher: Matcher) -> None:
    result = matcher.match("Здравствуйте! как получить сертификат на ребенка")
    assert result.decision is Decision.ANSWER and result.id == "certificate-how-to-get"


def test_json_shape(matcher: Matcher) -> None:
    data = matcher.match("серт на кружки как получить??").as_json()
    assert set(data) == {"question", "decision", "id", "score", "candidates", "topic", "redirect"}
    assert len(data["candidates"]) <= 3  # type: ignore[arg-type]
    assert data["decision"] == "answer" and data["topic"] == "certificate-how-to-get"
    # an entry that answers a part of a topic names the topic it declares
    part = matcher.match("не приходит письмо для подтверждения регистрации в навигаторе").as_json()
    assert part["id"] == "navigator-register-no-email" and part["topic"] == "navigator-register"


def test_tiny_index_and_unknown_words() -> None:
    m = Matcher(
        [
            IndexEntry("a", "Про сертификат", ["что такое сертификат", "зачем сертификат"], ["сертификат"]),
            IndexEntry("b", "Про навигатор", ["что такое навигатор", "где навигатор"], ["навигатор"]),
        ],
        normalizer=shared_normalizer(),
    )
    assert m.match("зачем нужен сертификат").candidates[0].id == "a"
    assert m.match("абракадабра").decision is Decision.FALLBACK
    assert Matcher([], normalizer=shared_normalizer()).match("сертификат").decision is Decision.FALLBACK
    # hostile content: phrasings with no word the classifier can use still build an index
    for phrasings in (["!!!", "..."], ["я", "а"]):
        odd = Matcher(
            [IndexEntry("x", "?", phrasings), IndexEntry("y", "😀", ["😀😀", "о"])],
            outside=["???"],
            normalizer=shared_normalizer(),
        )
        assert odd.match("сертификат").decision is Decision.FALLBACK


@pytest.mark.parametrize("classes", [2, 3])
def test_classifier_ranks_each_entry_by_its_telling_words(classes: int) -> None:
    # two classes take sklearn's binary branch (one row of weights), three the one-vs-rest one
    texts = {
        0: ["не приходить письмо почта", "письмо подтверждение не прийти", "нет письмо на почта"],
        1: ["забыть пароль вход", "не пускать пароль", "восстановить пароль кабинет"],
        2: ["статус заявка отклонить", "заявка отклонить почему", "что значить статус заявка"],
    }
    labels = [k for k in range(classes) for _ in texts[k]]
    clf = _Classifier.train([t for k in range(classes) for t in texts[k]], labels, classes + 1)
    queries = ["письмо так и не прийти", "пароль не подходить", "заявка отклонить"]
    for k, query in enumerate(queries[:classes]):
        share = clf.probabilities(query, temperature=10.0)
        assert share.shape == (classes + 1,) and abs(share.sum() - 1.0) < 1e-6
        assert int(share.argmax()) == k
        assert share[classes] < 1e-6  # the entry without phrasings never wins


def test_classifier_with_one_entry_gives_it_everything() -> None:
    clf = _Classifier.train(["что такое сертификат"], [0], 1)
    assert clf.probabilities("любой текст", temperature=10.0).tolist() == [1.0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_gives_a_valid_result(matcher: Matcher, text: str) -> None:
    result = matcher.match(text)
    assert isinstance(result, MatchResult)
    if result.decision is Decision.CLARIFY:  # the topics offered, in the content's order
        assert 2 <= len(result.candidates) <= 4
    else:
        assert len(result.candidates) <= 3
        scores = [c.score for c in result.candidates]
        assert scores == sorted(scores, reverse=True)
    json.dumps(result.as_json(), ensure_ascii=False)
    if result.decision is Decision.ANSWER:
        assert result.id == result.candidates[0].id


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(["сертификат", "навигатор", "номинал", "госуслуги"]),
    st.sampled_from(["!!!", "??", " 😀", ""]),
)
def test_punctuation_and_emoji_do_not_change_the_match(matcher: Matcher, word: str, tail: str) -> None:
    base = matcher.match(f"как получить {word}")
    noisy = matcher.match(f"КАК получить {word}{tail}")
    assert [c.id for c in base.candidates] == [c.id for c in noisy.candidates]


def test_normalize_for_report_groups_variants() -> None:
    assert normalize_for_report("Какая ПОГОДА завтра?!") == normalize_for_report("какая погода завтра")
    assert normalize_for_report("😀😀") == ""


def _broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    path = target / "faq" / "certificate.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("  - id: certificate-types\n", "  - id: certificate-what\n", "duplicate id"),
        ("related: [", "related: [nope, ", "unknown id 'nope'"),
        ("{navigator_name}", "{navigator_nam}", "unknown placeholder"),
        ("<b>Сертификат дополнительного образования</b>", "<b>Сертификат", "unclosed tag"),
        ("    answer: |\n", "    answer: |\n      " + "очень длинный текст " * 70 + "\n", "at most 1200"),
        ("    title: Что такое сертификат", "    titel: Что такое сертификат", "titel"),
    ],
)
def test_invalid_faq_is_refused_with_file_entry_and_reason(
    tmp_path: Path, old: str, new: str, reason: str
) -> None:
    with pytest.raises(ContentError) as err:
        load_content(_broken_copy(tmp_path, old, new))
    text = str(err.value)
    assert "faq/certificate.yaml" in text and reason in text


def _cli(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOT_TOKEN": ""}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )


def test_cli_ask_json_and_stdin() -> None:
    one = _cli(["ask", "серт на кружки как получить??", "--json"])
    assert one.returncode == 0, one.stderr
    data = json.loads(one.stdout)
    assert data["decision"] == "answer" and data["id"] == "certificate-how-to-get"
    many = _cli(["ask", "--json"], stdin="привет\nкакая погода\n\nнавегатор не пускает\n")
    lines = [json.loads(line) for line in many.stdout.splitlines()]
    assert [d["decision"] for d in lines] == ["smalltalk", "redirect", "answer"]


def test_content_check_reports_faq_errors(tmp_path: Path) -> None:
    broken = _broken_copy(tmp_path, "related: [", "related: [nope, ")
    result = _cli(["content", "check", "--dir", str(broken)])
    assert result.returncode == 1
    assert "faq/certificate.yaml" in result.stderr and "nope" in result.stderr


def _with_outside(tmp_path: Path, lines: list[str]) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    for extra in (target / "faq").glob("outside*.yaml"):
        extra.unlink()  # only the phrasings this test gives
    body = "".join(f"  - {json.dumps(line, ensure_ascii=False)}\n" for line in lines)
    (target / "faq" / "outside_test.yaml").write_text(f"outside:\n{body}", encoding="utf-8")
    return target


def test_outside_phrasings_load_and_bad_ones_are_refused(tmp_path: Path) -> None:
    kb = knowledge_base(load_content(_with_outside(tmp_path, ["погода на завтра", "кредит в банке"])))
    assert kb.outside == ("погода на завтра", "кредит в банке")
    bad = ["", "погода на завтра", "Погода  на завтра", "x" * 201, "что это за сертификат на кружки"]
    with pytest.raises(ContentError) as err:
        load_content(_with_outside(tmp_path / "bad", bad))
    text = str(err.value)
    assert "faq/outside_test.yaml" in text and "outside #1" in text and "non-empty" in text
    assert "outside #3" in text and "the same phrasing twice" in text
    assert "outside #4" in text and "201 characters" in text
    assert "is also in 'outside'" in text  # an entry's phrasing cannot be outside too


def test_a_question_like_the_outside_ones_is_never_answered() -> None:
    entries = [
        IndexEntry(
            "cert",
            "Сертификат на кружки",
            [
                "как получить сертификат на кружок",
                "сертификат пфдо для ребенка",
                "где взять сертификат доп образования",
                "сертификат на секцию как оформить",
            ],
            ["сертификат пфдо"],
        ),
        IndexEntry(
            "nav",
            "Навигатор",
            ["что такое навигатор", "как зайти в навигатор", "навигатор не открывается"],
            ["навигатор"],
        ),
    ]
    outside = [
        "сертификат в автошколу",
        "сертификат автошколы на вождение",
        "оплатить автошколу сертификатом",
        "сертификат на курсы вождения",
        "погода на завтра",
        "права на вождение",
    ]
    question = "сертификат в автошколу где получить"
    lenient = Thresholds(answer=0.3, margin=0.05)  # a tiny index: its scores stay low
    plain = Matcher(entries, thresholds=lenient, normalizer=shared_normalizer())
    assert plain.match(question).decision is Decision.ANSWER  # «сертификат» alone looks like ours
    taught = Matcher(entries, thresholds=lenient, outside=outside, normalizer=shared_normalizer())
    assert taught.match(question).decision is not Decision.ANSWER
    assert taught.match("как получить сертификат на кружок").id == "cert"


def test_redirects_and_clarify_groups_are_validated(tmp_path: Path) -> None:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    (target / "faq" / "zz_broken.yaml").write_text(
        "outside:\n"
        "  - id: certificate-what\n"  # an entry's id
        "    title: Дубль\n"
        "    answer: Позвоните {moc_phon}\n"  # unknown placeholder
        "    words: [один два три четыре пять]\n"
        "    questions: [как посмотреть номер в очереди в детский сад]\n"  # already in kindergarten
        "  - id: nothing\n"
        "    title: Пусто\n"
        "    answer: Нет\n"
        "clarify:\n"
        "  - id: odd\n"
        "    words: [сертификат]\n"
        "    question: Что именно?\n"
        "    options: [certificate-what, no-such-entry]\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as err:
        load_content(target)
    text = str(err.value)
    assert "faq/zz_broken.yaml" in text
    assert "id is also an entry's id" in text and "unknown placeholder" in text
    assert "at most four words" in text and "the same phrasing twice" in text
    assert "needs words or questions" in text and "options: unknown id 'no-such-entry'" in text


def test_shipped_redirects_render_for_every_municipality() -> None:
    content = load_content(CONTENT)
    kb = knowledge_base(content)
    ids = {r.id for r in kb.redirects}
    assert {"gosuslugi-account", "school", "kindergarten", "sfr", "health", "other"} <= ids
    assert sum(len(r.questions) for r in kb.redirects) >= 300
    for municipality in content.municipalities.values():
        values = municipality.placeholders()
        assert municipality.moc.phone in kb.redirect("other").render_answer(values)  # type: ignore[union-attr]
    for entry in kb:
        assert entry.asked_as and "{" not in entry.asked_as


def test_a_question_naming_two_topics_by_their_keywords_is_asked_back() -> None:
    def index(thresholds: Thresholds) -> Matcher:
        return Matcher(
            [
                IndexEntry(
                    "leave",
                    "Отчисление",
                    ["как отчислиться из кружка", "отчисление ребенка из кружка", "порядок отчисления"],
                    ["отчисление"],
                ),
                IndexEntry(
                    "apply",
                    "Запись",
                    ["как записаться в кружок", "запись в кружок", "порядок зачисления в кружок"],
                    ["зачисление"],
                ),
                IndexEntry("nav", "Про навигатор", ["что такое навигатор", "где навигатор"], ["навигатор"]),
            ],
            thresholds=thresholds,
            normalizer=shared_normalizer(),
        )

    both = "порядок отчисления и зачисления в кружок"
    result = index(Thresholds()).match(both)
    assert result.decision is Decision.CLARIFY and {c.id for c in result.candidates} == {"leave", "apply"}
    assert index(Thresholds(rival_gap=0)).match(both).decision is Decision.ANSWER
    assert index(Thresholds()).match("порядок отчисления из кружка").id == "leave"
