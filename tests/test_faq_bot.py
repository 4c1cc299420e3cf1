"""Dispatcher-level scenarios for the parent FAQ and the hand-off to staff."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy import func, select

from bot.app import create_app
from bot.services.activity import Kind
from bot.services.plugins import ReportScope
from bot.settings import PROJECT_ROOT, Settings
from db.base import utcnow
from db.models import ActivityEvent, FaqHandoff, FaqQuestion
from tests.support.client import ADMIN_ID, PARENT_ID, STAFF_CHAT_ID, BotTester, texts


async def _questions(tester: BotTester) -> list[FaqQuestion]:
    async with tester.db() as session:
        return list((await session.scalars(select(FaqQuestion).order_by(FaqQuestion.id))).all())


async def _kinds(tester: BotTester, kind: Kind) -> list[ActivityEvent]:
    async with tester.db() as session:
        return list((await session.scalars(select(ActivityEvent).where(ActivityEvent.kind == kind))).all())


async def test_confident_answer_renders_municipality_and_logs(tester: BotTester) -> None:
    await tester.start_and_consent(municipality="Зима")
    sent = await tester.send("серт на кружки как получить??")
    assert len(sent) == 1
    answer = sent[0]
    assert "Как получить сертификат" in answer.text or "сертификат" in answer.text.lower()
    assert "{" not in answer.text
    labels = [b[0] for b in answer.buttons]
    assert any("специалисту" in label for label in labels)
    questions = await _questions(tester)
    assert questions[-1].decision == "answer" and questions[-1].matched_id == "certificate-how-to-get"
    assert questions[-1].user_id == PARENT_ID and questions[-1].municipality_id == "zima"
    events = await _kinds(tester, Kind.FAQ_QUESTION)
    assert events[-1].topic == "certificate-how-to-get" and events[-1].outcome == "answer"


async def test_nominal_placeholder_differs_by_municipality(tester: BotTester) -> None:
    await tester.start_and_consent(municipality="Зима")
    sent = await tester.send("что такое сертификат пфдо")
    assert "72 часа" in sent[0].text
    await tester.start_and_consent(user_id=2002, municipality="Саянск")
    sent = await tester.send("что такое сертификат пфдо", user_id=2002)
    assert "8 000 руб" in sent[0].text


async def test_related_button_opens_entry(tester: BotTester) -> None:
    await tester.start_and_consent()
    sent = await tester.send("что такое сертификат пфдо")
    related = [b for b in sent[0].buttons if b[1] and b[1].startswith("fo:")]
    assert related, "the answer offers related entries"
    opened = await tester.press(sent[0], related[0][1] or "")
    assert opened and opened[0].text.startswith("<b>")


async def test_smalltalk_gets_friendly_reply_not_fallback(tester: BotTester) -> None:
    await tester.start_and_consent()
    for text, expected in (
        ("Здравствуйте!", "Здравствуйте"),
        ("спасибо большое", "Пожалуйста"),
        ("ты бот?", "бот"),
    ):
        sent = await tester.send(text)
        assert expected in sent[0].text
        assert not any("специалисту" in b[0] for b in sent[0].buttons)
    events = await _kinds(tester, Kind.FAQ_QUESTION)
    assert [e.outcome for e in events] == ["smalltalk"] * 3


async def test_gibberish_falls_back_with_topics_and_person(tester: BotTester) -> None:
    await tester.start_and_consent()
    sent = await tester.send("фывапролд жэ")
    assert "не нашёл ответа" in sent[0].text
    labels = [b[0] for b in sent[0].buttons]
    assert any("Темы" in label for label in labels) and any("специалисту" in label for label in labels)
    assert "🏠 Главное меню" in labels  # a parent always has a way back
    assert (await _questions(tester))[-1].decision == "fallback"


@pytest.mark.parametrize(
    "text",
    [
        "😀😀😀",
        "?!?!...",
        "<b><i><script>alert(1)</script></i></b>" * 20,
        "How do I get the certificate for my son?",
        "а" * 4500,
        "мой сын ходит в кружок " * 200,
    ],
)
async def test_bad_input_gets_an_answer(tester: BotTester, text: str) -> None:
    await tester.start_and_consent()
    sent = await tester.send(text)
    assert len(sent) == 1 and sent[0].text
    assert "<script>" not in sent[0].text


async def test_english_question_is_asked_in_russian(tester: BotTester) -> None:
    await tester.start_and_consent()
    sent = await tester.send("How do I get the certificate for my son?")
    assert "по-русски" in sent[0].text


async def test_long_story_is_answered_not_refused(tester: BotTester) -> None:
    await tester.start_and_consent()
    story = "Здравствуйте! Расскажу по порядку. " + "Мы долго выбирали кружок, ходили по школам. " * 60
    story = "не приходит письмо для подтверждения регистрации в навигаторе. " + story
    assert len(story) > 2000
    sent = await tester.send(story)
    assert "очень длинное" not in sent[0].text
    assert len(sent) == 1


async def test_topics_list_starts_with_the_most_asked_then_groups(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.click("Частые вопросы")
    first = tester.last()
    labels = [b[0] for b in first.buttons]
    # what parents ask most comes first: getting a certificate, registering, applying
    assert labels[0].startswith("Как получить") and "сертификат" in labels[0].lower()
    topics = [b for b in first.buttons if b[1] and b[1].startswith("fo:")]
    assert len(topics) == 6
    groups = [b for b in first.buttons if b[1] and b[1].startswith("fg:")]
    assert [g[0].split(" (")[0] for g in groups] == [
        "📂 Сертификат", "📂 Навигатор: регистрация, вход, дети", "📂 Запись, заявки, договоры",
        "📂 Программы и кружки", "📂 Другие вопросы",
    ]  # fmt: skip
    assert sum(int(g[0].rsplit("(", 1)[1].rstrip(")")) for g in groups) == 90  # every topic is in a group
    sent = await tester.click("Сертификат")
    page = tester.last()
    assert "<b>Сертификат</b> (страница 1 из" in page.text
    assert sum(1 for b in page.buttons if b[1] and b[1].startswith("fo:")) == 8
    sent += await tester.click("Дальше")
    assert "страница 2 из" in tester.last().text
    sent += await tester.click("Все темы")
    assert "Сначала — о чём спрашивают чаще всего" in tester.last().text
    # the list turns in place: one message, edited
    assert [s.method for s in sent] == ["EditMessageText"] * 3
    assert {s.message_id for s in sent} == {first.message_id}
    # a forged group or page is refused or clamped, not an error
    await tester.press(first, "fg:nothing:0")
    assert "больше нет" in tester.alerts()[-1]
    sent = await tester.press(first, "fg:certificate:999")
    assert not any("что-то пошло не так" in s.text for s in sent)
    sent = await tester.press(first, "fp:999")
    assert "Частые вопросы" in sent[0].text


async def test_forged_entry_and_question_ids(tester: BotTester) -> None:
    await tester.start_and_consent()
    sent = await tester.send("какая погода завтра")
    await tester.press(sent[0], "fo:no-such-entry")
    assert "больше нет" in tester.alerts()[-1]
    await tester.start_and_consent(user_id=2002)
    question_id = (await _questions(tester))[-1].id
    await tester.press(sent[0], f"fa:{question_id}", user_id=2002)
    assert "Не нашёл этот вопрос" in tester.alerts()[-1]
    await tester.press(sent[0], "fa:notanumber")
    async with tester.db() as session:
        assert await session.scalar(select(func.count()).select_from(FaqHandoff)) == 0


async def test_handoff_round_trip(tester: BotTester) -> None:
    await tester.start_and_consent()
    sent = await tester.send("какая погода завтра <b>")
    await tester.click("специалисту")
    staff_msg = tester.last(STAFF_CHAT_ID)
    assert "погода завтра &lt;b&gt;" in staff_msg.text
    assert f"tg://user?id={PARENT_ID}" in staff_msg.text and "Анна" in staff_msg.text
    assert "не о кружках" in staff_msg.text
    assert "передан специалисту" in tester.last().text
    # pressing again does not send twice
    await tester.click("специалисту", message=sent[0])
    assert "уже передан" in tester.last().text
    listing = texts(await tester.send("/questions", user_id=ADMIN_ID))
    assert "Открытые вопросы родителей: 1" in listing and "ждёт" in listing
    await tester.staff_reply(staff_msg, "Завтра солнечно <3")
    delivered = tester.last(PARENT_ID)
    assert "Ответ специалиста" in delivered.text and "Завтра солнечно &lt;3" in delivered.text
    assert "отправлен родителю" in tester.last(STAFF_CHAT_ID).text
    async with tester.db() as session:
        handoff = await session.scalar(select(FaqHandoff))
        assert handoff is not None and handoff.answered_at is not None and handoff.answered_by == ADMIN_ID
    answered = await _kinds(tester, Kind.HANDOFF_ANSWERED)
    assert len(answered) == 1 and answered[0].value is not None and answered[0].value >= 0
    assert len(await _kinds(tester, Kind.HANDOFF_CREATED)) == 1
    assert "Открытых вопросов нет" in texts(await tester.send("/questions", user_id=ADMIN_ID))


async def test_ask_command_and_menu_button(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("/ask как записаться на шахматы в другом городе")
    assert "как записаться на шахматы" in tester.last(STAFF_CHAT_ID).text
    assert "сразу специалисту" in tester.last(STAFF_CHAT_ID).text
    await tester.send("/menu")
    await tester.click("Вопрос специалисту")
    assert "одним сообщением" in tester.last().text
    await tester.send("😀")
    assert "словами" in tester.last().text
    await tester.send("сколько стоит секция бокса")
    assert "сколько стоит секция бокса" in tester.last(STAFF_CHAT_ID).text
    assert len(await _kinds(tester, Kind.HANDOFF_CREATED)) == 2
    questions = await _questions(tester)
    assert [q.decision for q in questions] == ["ask", "ask"]


async def test_parent_cannot_answer_in_staff_chat_and_questions_is_staff_only(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("/ask помогите с записью")
    staff_msg = tester.last(STAFF_CHAT_ID)
    await tester.staff_reply(staff_msg, "я не сотрудник", user_id=5555)
    assert "только сотрудники" in tester.last(STAFF_CHAT_ID).text
    assert "только сотрудникам" in texts(await tester.send("/questions"))
    assert "только сотрудникам" in texts(await tester.send("/reload"))


async def test_no_staff_chat_gives_contacts(settings: Settings) -> None:
    settings.staff_chat_id = None
    app = create_app(settings, storage=MemoryStorage())
    try:
        tester = BotTester(app)
        await tester.start_and_consent()
        await tester.send("какая погода завтра")
        sent = await tester.click("специалисту")
        assert "0-00-01" in texts(sent)
        sent = await tester.send("/ask вопрос")
        assert "0-00-01" in texts(sent)
        async with tester.db() as session:
            assert await session.scalar(select(func.count()).select_from(FaqHandoff)) == 0
    finally:
        await app.engine.dispose()


async def test_reload_keeps_old_content_on_error_and_rebuilds_matcher(
    settings: Settings, tmp_path: Path
) -> None:
    content_dir = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", content_dir)
    settings.content_dir = content_dir
    app = create_app(settings, storage=MemoryStorage())
    try:
        tester = BotTester(app)
        await tester.start_and_consent()
        faq_file = content_dir / "faq" / "misc.yaml"
        original = faq_file.read_text(encoding="utf-8")
        faq_file.write_text(original.replace("related: [", "related: [no-such-id, ", 1), encoding="utf-8")
        reply = texts(await tester.send("/reload", user_id=ADMIN_ID))
        assert "не перезагружен" in reply and "no-such-id" in reply and "misc.yaml" in reply
        sent = await tester.send("что такое сертификат пфдо")
        assert "сертификат" in sent[0].text.lower()
        extra = (
            "\n  - id: zz-dragons\n    title: Драконы в кружке\n    questions:\n"
            + "".join(f"      - дракон огнедышащий вопрос {i}\n" for i in range(6))
            + "    keywords: [дракон огнедышащий]\n    answer: Драконов в кружках нет.\n"
        )
        faq_file.write_text(original + extra, encoding="utf-8")
        reply = texts(await tester.send("/reload", user_id=ADMIN_ID))
        assert "перезагружен" in reply and "не перезагружен" not in reply
        sent = await tester.send("сертификат и дракон огнедышащий")
        assert "Драконов в кружках нет" in sent[0].text
    finally:
        await app.engine.dispose()


async def test_mydata_forget_and_unanswered_report(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("какая погода завтра")
    await tester.send("Какая погода завтра?!")
    await tester.send("что такое сертификат пфдо")
    await tester.click("специалисту")
    mydata = texts(await tester.send("/mydata"))
    assert "Ваших вопросов боту сохранено: 3" in mydata and "передано специалисту: 1" in mydata
    scope = ReportScope(utcnow().replace(year=2000), utcnow().replace(year=2100), None)
    (unanswered_source,) = [p.report_sources["faq_unanswered"] for p in tester.app.parts if p.name == "faq"]
    async with tester.app.database.read() as uow:
        top = await unanswered_source(uow, scope)
        assert top == [{"text": "какая погода завтра", "count": 2}]
        other = await unanswered_source(uow, ReportScope(scope.start, scope.end, "zima"))
        assert other == []
    await tester.send("/forget")
    await tester.click("Да, удалить")
    async with tester.db() as session:
        rows = list((await session.scalars(select(FaqQuestion))).all())
        assert len(rows) == 3 and all(r.text == "" and r.user_id is not None and r.user_id < 0 for r in rows)
        assert await session.scalar(select(func.count()).select_from(FaqHandoff)) == 0
    async with tester.app.database.read() as uow:
        assert await unanswered_source(uow, scope) == []


async def test_cancel_leaves_ask_mode_and_replies_in_private_are_questions(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("/ask")
    await tester.send("/cancel")
    sent = await tester.send("как получить сертификат")
    assert "передан" not in texts(sent)
    # a parent who replies (Telegram «Ответить») to the bot's message still gets an answer
    reply = tester.factory.message(
        "сколько действует сертификат", user_id=PARENT_ID, reply_to={**_bot_message(sent[0])}
    )
    answered = await tester.feed(reply)
    assert answered and "18" in answered[0].text


def _bot_message(sent: object) -> dict[str, object]:
    from datetime import UTC, datetime

    return {
        "message_id": getattr(sent, "message_id", 1),
        "date": int(datetime.now(UTC).timestamp()),
        "chat": {"id": PARENT_ID, "type": "private", "first_name": "Анна"},
        "from": {"id": 42, "is_bot": True, "first_name": "mocbot"},
        "text": "ответ",
    }


def test_button_urls_are_ascii() -> None:
    from handlers.faq import button_url

    assert button_url("https://р38.навигатор.дети") == "https://xn--38-kmc.xn--80aafey1amqq.xn--d1acj3b"
    assert (
        button_url("https://example.ru/путь?q=да")
        == "https://example.ru/%D0%BF%D1%83%D1%82%D1%8C?q=%D0%B4%D0%B0"
    )
    assert button_url("https://pfdo.ru/app") == "https://pfdo.ru/app"


async def test_typing_menu_opens_the_main_menu_not_the_faq(tester: BotTester) -> None:
    await tester.start_and_consent()
    for word in ("меню", "Главное меню!", "в меню"):
        sent = await tester.send(word)
        assert any("Найти кружок" in b[0] for b in sent[-1].buttons), word
    assert await _questions(tester) == []  # nothing went to the FAQ


async def test_faq_screens_offer_the_way_back(tester: BotTester) -> None:
    await tester.start_and_consent()

    def labels() -> list[str]:
        return [b[0] for b in tester.last().buttons]

    for text in ("серт на кружки как получить??", "привет", "/help"):
        await tester.send(text)
        assert "🏠 Главное меню" in labels(), text
    await tester.send("серт на кружки как получить??")
    assert "📋 Темы вопросов" in labels()
    await tester.click("Темы вопросов")
    assert "🏠 Главное меню" in labels()
    await tester.click("Главное меню")
    assert any("Найти кружок" in label for label in labels())


async def test_a_general_question_is_asked_back_and_a_button_answers(tester: BotTester) -> None:
    await tester.start_and_consent()
    sent = await tester.send("Что делать с сертификатом?")
    assert len(sent) == 1
    ask = sent[0]
    assert "?" in ask.text and "сертификат" in ask.text.lower()
    offered = [(label, data) for label, data, _ in ask.buttons if data and data.startswith("fo:")]
    assert 2 <= len(offered) <= 4
    assert all(len((data or "").encode()) <= 64 for _, data, _ in ask.buttons)
    assert "🏠 Главное меню" in [b[0] for b in ask.buttons]
    questions = await _questions(tester)
    assert questions[-1].decision == "clarify"
    label, data = next((label, data) for label, data in offered if data == "fo:certificate-how-to-get")
    assert label.startswith("Как получить")
    opened = await tester.press(ask, data or "")
    assert opened and opened[0].text.startswith("<b>Как получить сертификат</b>")


async def test_two_competing_topics_are_named_in_the_question_back(tester: BotTester) -> None:
    from bot.services.faq.engine import engine_for
    from bot.services.faq.matcher import Candidate, Decision, MatchResult
    from handlers.faq import clarify_text

    kb = engine_for(tester.app.content).kb
    result = MatchResult(
        "?", Decision.CLARIFY, (Candidate("certificate-how-to-get", 0.5), Candidate("certificate-use", 0.45))
    )
    built = clarify_text(result, kb)
    assert built is not None
    text, options = built
    asked = "как получить сертификат или как оплатить кружок сертификатом?"
    assert text == "Уточните, пожалуйста: вы спрашиваете, " + asked
    assert [label for _, label in options] == ["Как получить сертификат", "Как оплатить кружок сертификатом"]


async def test_a_neighbouring_service_gets_where_to_go_not_a_certificate_answer(tester: BotTester) -> None:
    await tester.start_and_consent()
    sent = await tester.send("как встать в очередь в детский сад через госуслуги")
    assert len(sent) == 1
    text = sent[0].text
    assert "детском саде" in text and "Управление образования администрации г. Саянска" in text
    assert "0-00-02" in text and "{" not in text
    assert "<b>" not in text.split("\n", 1)[0]  # no entry title: not an FAQ answer
    labels = [b[0] for b in sent[0].buttons]
    assert "🏠 Главное меню" in labels and any("специалисту" in label for label in labels)
    questions = await _questions(tester)
    assert questions[-1].decision == "redirect" and questions[-1].matched_id == "kindergarten"
    # anything else that is not ours: the МОЦ's phone
    sent = await tester.send("какая погода завтра")
    assert "0-00-01" in sent[0].text


async def test_a_question_asked_back_and_handed_off_tells_staff_the_bot_asked_back(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("Что делать с сертификатом?")
    await tester.click("Задать вопрос специалисту")
    post = tester.last(STAFF_CHAT_ID).text
    assert "Что делать с сертификатом?" in post
    assert "бот переспросил" in post and "оценка" not in post  # no score for a question back
