"""Issue 14: every parent flow in both messengers, one parametrised suite.

Each test runs twice: as a Telegram parent (the in-process Telegram stand-in) and as a
MAX parent (the MAX stand-in over HTTP, the MAX session and the inbound translation, as
the running bot). Staff stay in Telegram: hand-offs from both reach the one staff chat,
and an answer goes back to the messenger the question came from. The MAX stand-in is
strict: it refuses HTML MAX does not know, texts over 4,000 characters, keyboards over
its limits and an empty answer to a button press, so a step that passes here is one MAX
accepts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.channels import Channel, external_id
from bot.services.announcements.events import EventDraft, EventService
from bot.services.catalogue import CatalogueService
from bot.views.announcements import reminder_texts
from db.base import utcnow
from db.models import ActivityEvent, EventSignup, FaqQuestion, Subscription, User
from tests.support.client import ADMIN_ID, STAFF_CHAT_ID, BotTester
from tests.support.parents import MaxParent, Parent, TelegramParent, joined, max_parent

TG_PARENT = 1001


@pytest.fixture(params=[Channel.TELEGRAM, Channel.MAX], ids=["telegram", "max"])
async def parent(request: pytest.FixtureRequest, tester: BotTester) -> AsyncIterator[Parent]:
    if request.param is Channel.TELEGRAM:
        yield TelegramParent(tester, TG_PARENT)
        return
    async with max_parent(tester) as one:
        yield one


async def consent(parent: Parent, municipality: str = "Саянск") -> None:
    sent = await parent.send("/start")
    if any(municipality in b for s in sent for b in s.buttons):
        sent = await parent.click(municipality)
    assert any("Согласен" in b for s in sent for b in s.buttons), joined(sent)
    sent = await parent.click("Согласен")
    if any(municipality in b for s in sent for b in s.buttons):
        await parent.click(municipality)


async def test_consent_and_municipality_store_the_person_with_their_identity(
    parent: Parent, tester: BotTester
) -> None:
    sent = await parent.send("/start")
    assert sent and sent[-1].buttons, "the first screen offers a choice"
    await consent(parent)
    async with tester.db() as session:
        user = await session.get(User, parent.id)
        assert user is not None and user.consent_at is not None and user.municipality_id == "sayansk"
        assert (user.channel, user.external_id) == (str(parent.channel), external_id(parent.id))
    if parent.channel is Channel.MAX:
        assert parent.id >= 2**53  # never a Telegram id


async def test_faq_answers_asks_back_and_a_button_answers(parent: Parent, tester: BotTester) -> None:
    await consent(parent)
    sent = await parent.send("как получить сертификат")
    assert "сертификат" in joined(sent).lower()
    ask = (await parent.send("Что делать с сертификатом?"))[-1]
    assert "?" in ask.text and len(ask.buttons) >= 3  # 2-4 topics and the way back
    opened = await parent.click("Как получить")
    assert opened and "<b>Как получить сертификат</b>" in opened[0].text
    async with tester.db() as session:
        rows = (await session.scalars(select(FaqQuestion).where(FaqQuestion.user_id == parent.id))).all()
        assert {r.channel for r in rows} == {str(parent.channel)} and len(rows) >= 2


async def test_hand_off_reaches_the_staff_chat_and_the_answer_comes_back_in_the_same_messenger(
    parent: Parent, tester: BotTester
) -> None:
    await consent(parent)
    sent = await parent.send("/ask как записать ребёнка на шахматы")
    assert "Передал" in joined(sent) or "специалист" in joined(sent).lower()
    post = tester.last(STAFF_CHAT_ID)
    assert "как записать ребёнка на шахматы" in post.text
    if parent.channel is Channel.MAX:
        assert "пишет в MAX" in post.text and "tg://user" not in post.text
    await tester.staff_reply(post, "Через Навигатор, раздел «Шахматы»")
    await deliver(parent, tester)
    answer = parent.last()
    assert "Ответ специалиста" in answer.text and "Шахматы" in answer.text
    assert any("Ответить специалисту" in b for b in answer.buttons)
    await parent.click("Ответить специалисту")
    sent = await parent.send("А если ребёнку 4 года?")
    assert "Передал специалисту" in joined(sent)
    reply_post = tester.last(STAFF_CHAT_ID)
    assert "А если ребёнку 4 года?" in reply_post.text
    await tester.staff_reply(reply_post, "С 5 лет, но есть кружки с 4")
    await deliver(parent, tester)
    assert "С 5 лет" in parent.last().text


async def test_program_search_with_buttons_and_free_text(parent: Parent, tester: BotTester) -> None:
    catalogue: CatalogueService = tester.app.services["catalogue"]
    await catalogue.load_demo_if_empty(tester.app.content.current)
    await consent(parent)
    sent = await parent.send("/search")
    assert "Выберите направленность" in sent[0].text
    await parent.click("Техническая")
    sent = await parent.click("10")
    assert "техническая, 10 лет" in joined(sent)
    sent = await parent.send("робототехника для 10 лет")
    assert "Кружки по робототехнике для 10 лет" in joined(sent)
    async with tester.db() as session:
        kinds = (
            await session.scalars(select(ActivityEvent.channel).where(ActivityEvent.user_id == parent.id))
        ).all()
        assert kinds and set(kinds) == {str(parent.channel)}


async def test_subscription_and_settings(parent: Parent, tester: BotTester) -> None:
    await consent(parent)
    sent = await parent.send("/subscribe")
    assert "Вы подписаны" in joined(sent)
    await parent.send("/settings")
    await parent.click("Возраст детей")
    sent = await parent.send("7, 12 лет")
    assert "Сохранено: 7 и 12 лет" in joined(sent)
    await parent.click("Направленности")
    await parent.click("техническая")
    sent = await parent.click("Готово")
    assert "техническая" in joined(sent)
    async with tester.db() as session:
        user = await session.get(User, parent.id)
        sub = await session.get(Subscription, parent.id)
        assert user is not None and user.child_ages == [7, 12]
        assert sub is not None and sub.active and sub.directions == ["tech"]


async def test_event_sign_up_calendar_file_and_cancel(parent: Parent, tester: BotTester) -> None:
    from icalendar import Calendar

    events: EventService = tester.app.services["events"]
    draft = EventDraft(
        title="День открытых дверей", starts_at=utcnow() + timedelta(hours=48), timezone="Asia/Irkutsk",
        place="ул. Ленина, 1", organisation="ДДТ", directions=("tech",), audience="parents",
        capacity=5, description="Покажем кружки <робототехники>", municipality_id="sayansk",
    )  # fmt: skip
    event = await events.create(draft, created_by=ADMIN_ID, reminder_texts=reminder_texts(draft))
    await consent(parent)
    sent = await parent.send("/events")
    assert "День открытых дверей" in joined(sent)
    sent = await parent.click("День открытых дверей")
    assert "&lt;робототехники&gt;" in joined(sent)
    await parent.click("Пойду")
    assert "✅ Вы записаны" in " ".join(b for s in [parent.last()] for b in s.buttons) or any(
        "Вы записаны" in a for a in parent.alerts()
    )
    sent = await parent.send("Отмена")  # the optional name: left with a cancel word
    await parent.send("/events")
    await parent.click("День открытых дверей")
    sent = await parent.click("В календарь")
    files = [s for s in sent if s.file_name]
    assert files and files[0].file_name == f"event-{event.id}.ics"
    vevent = next(iter(Calendar.from_ical(files[0].file_bytes or b"").walk("VEVENT")))
    assert str(vevent["summary"]) == "День открытых дверей"
    await parent.click("Отменить запись")
    async with tester.db() as session:
        standing = await session.scalar(
            select(func.count())
            .select_from(EventSignup)
            .where(EventSignup.user_id == parent.id, EventSignup.cancelled_at.is_(None))
        )
        assert standing == 0


async def test_mydata_and_forget(parent: Parent, tester: BotTester) -> None:
    await consent(parent)
    await parent.send("/subscribe")
    sent = await parent.send("/mydata")
    assert "подпис" in joined(sent).lower()
    # the id the parent's own messenger shows, never the internal one
    assert f"Идентификатор {parent.channel.label}: {external_id(parent.id)}" in joined(sent)
    await parent.send("/forget")
    await parent.click("Да, удалить")
    async with tester.db() as session:
        assert await session.get(User, parent.id) is None
        assert await session.get(Subscription, parent.id) is None


async def deliver(parent: Parent, tester: BotTester) -> None:
    """Let the notice worker send what is due (staff answers) and the parent receive it."""
    await tester.deliver()
    if isinstance(parent, MaxParent):
        await parent.settle()


@pytest.mark.parametrize("as_photo", [False, True], ids=["file", "photo"])
async def test_a_broadcast_with_a_photo_reaches_both_messengers_once_each(
    tester: BotTester, tmp_path: Path, as_photo: bool
) -> None:
    """Staff (Telegram) broadcast to subscribers in both messengers: one worker per channel,
    each message once, the MAX photo uploaded once and reused, one summary counting both.
    A poster sent as a file is kept as bytes; one sent as a photo is a Telegram file id,
    which the MAX side fetches through the Telegram bot."""

    from PIL import Image

    from db.models import Broadcast, OutboxMessage

    tg = TelegramParent(tester, TG_PARENT)
    async with max_parent(tester) as mx, max_parent(tester, user=5_550_002, reuse=mx) as mx2:
        for one in (tg, mx, mx2):
            await consent(one)
            await one.send("/subscribe")
        poster = tmp_path / "poster.png"
        Image.new("RGB", (80, 60), "blue").save(poster)
        await tester.send("/broadcast", user_id=ADMIN_ID)
        await tester.send("<b>День открытых дверей</b> &amp; мастер-классы", user_id=ADMIN_ID)
        if as_photo:
            file_id = tester.session.register_file(poster)
            size = {"file_id": file_id, "file_unique_id": "p1", "width": 80, "height": 60}
            await tester.send(None, user_id=ADMIN_ID, photo=[size])
        else:
            await tester.send_document(poster, user_id=ADMIN_ID)
        await tester.click("Всем подписчикам", user_id=ADMIN_ID)
        sent = await tester.click("Отправить сейчас", user_id=ADMIN_ID)
        assert "поставлена в очередь" in sent[-1].text

        async def finished() -> bool:
            async with tester.db() as session:
                broadcast = (await session.scalars(select(Broadcast))).one()
                return broadcast.finished_at is not None

        await run_workers(tester, mx, finished)
        tg_photos = [s for s in tester.sent if s.method == "SendPhoto" and s.chat_id == TG_PARENT]
        assert len(tg_photos) == 1 and "Отписаться" in tg_photos[0].buttons[0][0]
        for one in (mx, mx2):
            got = [m for m in mx.api.sent(one.user) if "мастер-классы" in m.text]
            assert len(got) == 1 and got[0].files, one.user
        assert len(mx.api.requests("POST /uploads")) == 1  # uploaded once, the token reused
        summary = tester.session.message(ADMIN_ID, sent[-1].message_id)
        assert summary is not None and "Доставлено: 3 из 3" in summary.text
        async with tester.db() as session:
            states = (await session.scalars(select(OutboxMessage.state))).all()
            assert sorted(states) == ["sent", "sent", "sent"]


async def test_a_max_parent_s_screenshot_reaches_the_telegram_staff_chat(tester: BotTester) -> None:
    """A file of one messenger is fetched through its bot and sent as bytes through the other."""
    png = _png()
    async with max_parent(tester) as parent:
        await consent(parent)
        await parent.send("/ask")
        await parent.person.step(
            lambda: parent.api.user_image(parent.user, png, "Навигатор пишет «ошибка 500» при входе")
        )
        post = tester.last(STAFF_CHAT_ID)
        assert post.method == "SendPhoto" and post.file_bytes == png
        assert "ошибка 500" in post.text and "пишет в MAX" in post.text
        await tester.staff_reply(post, "Очистите кэш браузера")
        await deliver(parent, tester)
        assert "Очистите кэш" in parent.last().text


async def test_an_event_photo_staff_sent_in_telegram_is_shown_in_max(
    tester: BotTester, tmp_path: Path
) -> None:
    png = _png()
    path = tmp_path / "poster.png"
    path.write_bytes(png)
    file_id = tester.session.register_file(path)
    events: EventService = tester.app.services["events"]
    draft = EventDraft(
        title="День открытых дверей", starts_at=utcnow() + timedelta(hours=48), timezone="Asia/Irkutsk",
        place="ул. Ленина, 1", organisation="ДДТ", directions=("tech",), audience="parents",
        capacity=None, description="Покажем кружки", municipality_id="sayansk", photo_file_id=file_id,
    )  # fmt: skip
    await events.create(draft, created_by=ADMIN_ID, reminder_texts=reminder_texts(draft))
    async with max_parent(tester) as parent:
        await consent(parent)
        await parent.send("/events")
        card = await parent.click("День открытых дверей")
        assert card and card[0].file_bytes == png and "День открытых дверей" in card[0].text


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, format="PNG")
    return buffer.getvalue()


async def test_an_event_reminder_reaches_a_max_parent_and_its_button_cancels(tester: BotTester) -> None:

    from sqlalchemy import update

    from db.models import Broadcast

    events: EventService = tester.app.services["events"]
    draft = EventDraft(
        title="День открытых дверей", starts_at=utcnow() + timedelta(hours=3), timezone="Asia/Irkutsk",
        place="ул. Ленина, 1", organisation="ДДТ", directions=("tech",), audience="parents",
        capacity=None, description="Покажем кружки", municipality_id="sayansk",
    )  # fmt: skip
    event = await events.create(draft, created_by=ADMIN_ID, reminder_texts=reminder_texts(draft))
    async with max_parent(tester) as parent:
        await consent(parent)
        await parent.send("/events")
        await parent.click("День открытых дверей")
        await parent.click("Пойду")
        async with tester.db() as session:
            await session.execute(
                update(Broadcast)
                .where(Broadcast.dedup_key == f"event:{event.id}:2h")
                .values(scheduled_at=utcnow())
            )

        async def reminded() -> bool:
            return any("Напоминание" in m.text for m in parent.api.sent(parent.user))

        await run_workers(tester, parent, reminded)
        reminder = next(m for m in parent.api.sent(parent.user) if "Напоминание" in m.text)
        assert "через два часа" in reminder.text
        await parent.click("Не смогу прийти")
        assert any("Запись отменена" in a for a in parent.alerts())
        async with tester.db() as session:
            signup = (await session.scalars(select(EventSignup))).one()
            assert signup.user_id == parent.id and signup.cancelled_at is not None


async def run_workers(tester: BotTester, parent: MaxParent, done: Callable[[], Awaitable[bool]]) -> None:
    """The broadcast workers of both messengers, as the running bot has them, until `done`."""
    import asyncio

    from bot.workers.broadcasts import BroadcastWorker

    delivery, settings = tester.app.services["delivery"], tester.app.settings
    workers = [
        BroadcastWorker(tester.bot, delivery, settings, tick=0.02, progress_interval=0),
        BroadcastWorker(parent.bot, delivery, settings, tick=0.02, progress_interval=0, channel=Channel.MAX),
    ]
    for worker in workers:
        await worker.start()
    try:
        async with asyncio.timeout(10):
            while not await done():  # noqa: ASYNC110 - the condition is a database read
                await asyncio.sleep(0.02)
    finally:
        for worker in workers:
            await worker.stop()
