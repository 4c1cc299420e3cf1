"""Commit, then speak: a change a person is told about is committed before the message
that tells them, and a failed or slow Telegram answer afterwards never undoes it.

Each test makes the local Bot API fail the reply that follows a change (502, 429 or a
time-out) and checks both sides: the database holds the change, and the reply still
arrives once Telegram answers again (the sender retries; notices are retried by the
notice worker on their row).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.workers.notices import NoticeWorker
from db.models import FaqHandoff, FaqQuestion, Notice, User
from tests.support.client import ADMIN_ID, PARENT_ID, STAFF_CHAT_ID, BotTester, texts

FAILURES = [
    pytest.param((502, "Bad Gateway", None), id="502"),
    pytest.param((429, "Too Many Requests: retry after 1", 1), id="429"),
    pytest.param((0, "Request timeout error", None), id="timeout"),
]


def _fail(tester: BotTester, failure: tuple[int, str, int | None], method: str = "SendMessage") -> None:
    status, description, retry_after = failure
    tester.session.fail_next(status, description, method=method, retry_after=retry_after)


@pytest.mark.parametrize("failure", FAILURES)
async def test_consent_survives_a_failed_reply(
    tester: BotTester, failure: tuple[int, str, int | None]
) -> None:
    await tester.send("/start")
    _fail(tester, failure)
    sent = await tester.click("Зима")
    assert any("152-ФЗ" in s.text for s in sent)  # the consent arrived after the retry
    async with tester.db() as session:
        assert await session.get(User, PARENT_ID) is None  # the choice waits for consent, unstored
    _fail(tester, failure)
    sent = await tester.click("Согласен")
    assert "Главное меню" in texts(sent)
    async with tester.db() as session:
        user = await session.get(User, PARENT_ID)
        assert user is not None and user.consent_at is not None and user.municipality_id == "zima"


@pytest.mark.parametrize("failure", FAILURES)
async def test_forget_survives_a_failed_reply(
    tester: BotTester, failure: tuple[int, str, int | None]
) -> None:
    await tester.start_and_consent()
    await tester.send("какая погода завтра")
    await tester.send("/forget")
    _fail(tester, failure)
    sent = await tester.click("Да, удалить")
    assert "данные удалены" in texts(sent)
    async with tester.db() as session:
        assert await session.get(User, PARENT_ID) is None
        texts_left = (await session.scalars(select(FaqQuestion.text))).all()
        assert texts_left and all(t == "" for t in texts_left)


@pytest.mark.parametrize("failure", FAILURES)
async def test_handoff_is_kept_when_the_confirmation_fails(
    tester: BotTester, failure: tuple[int, str, int | None]
) -> None:
    await tester.start_and_consent()
    await tester.send("какая погода завтра")
    _fail(tester, failure)
    sent = await tester.click("специалисту")
    assert "передан специалисту" in texts(sent)
    async with tester.db() as session:
        assert await session.scalar(select(func.count()).select_from(FaqHandoff)) == 1
    # the staff chat got the question, so the specialist's answer reaches the parent
    staff_msg = tester.last(STAFF_CHAT_ID)
    assert "погода завтра" in staff_msg.text
    await tester.staff_reply(staff_msg, "Завтра солнечно")
    assert "Завтра солнечно" in tester.last(PARENT_ID).text


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_reply_to_a_specialist_is_kept_when_the_confirmation_fails(
    tester: BotTester, failure: tuple[int, str, int | None]
) -> None:
    await tester.start_and_consent()
    await tester.send("/ask как записаться в секцию")
    await tester.staff_reply(tester.last(STAFF_CHAT_ID), "Через Навигатор")
    await tester.click("Ответить специалисту")
    _fail(tester, failure)
    sent = await tester.send("А если мест нет?")
    assert "Передал специалисту" in texts(sent)  # the confirmation arrived after the retry
    async with tester.db() as session:
        reply = await session.scalar(select(FaqQuestion).where(FaqQuestion.decision == "reply"))
        handoff = await session.scalar(select(FaqHandoff))
        assert reply is not None and handoff is not None and reply.handoff_id == handoff.id
        assert handoff.reply_at is not None
    assert "А если мест нет?" in tester.last(STAFF_CHAT_ID).text


async def test_a_failed_staff_chat_post_is_retried_from_its_row(tester: BotTester) -> None:
    tester.notices = NoticeWorker(
        tester.bot,
        tester.app.services["outbox"],
        group_interval=0,
        private_interval=0,
        retry_delays=(0.1, 0.1),
    )
    await tester.start_and_consent()
    await tester.send("какая погода завтра")
    tester.auto_deliver = False
    await tester.click("специалисту")  # committed and confirmed; the staff post waits in the outbox
    assert "передан специалисту" in tester.last(PARENT_ID).text
    async with tester.db() as session:
        notice = await session.scalar(select(Notice))
        assert notice is not None and notice.state == "pending" and notice.chat_id == STAFF_CHAT_ID
    # Telegram fails the staff post (the sender does not retry 5xx for the worker: the row does)
    tester.session.fail_next(502, "Bad Gateway", method="SendMessage")
    await tester.deliver()
    async with tester.db() as session:
        notice = await session.scalar(select(Notice))
        assert notice is not None and notice.state == "pending" and "Bad Gateway" in (notice.error or "")
    await tester.deliver(settle=2.0)
    async with tester.db() as session:
        notice = await session.scalar(select(Notice))
        assert notice is not None and notice.state == "sent" and notice.sent_message_id is not None
    tester.auto_deliver = True
    await tester.staff_reply(tester.last(STAFF_CHAT_ID), "Ответ")
    assert "Ответ специалиста" in tester.last(PARENT_ID).text


@pytest.mark.parametrize("failure", FAILURES)
async def test_staff_answer_is_recorded_and_delivered_despite_failures(
    tester: BotTester, failure: tuple[int, str, int | None]
) -> None:
    await tester.start_and_consent()
    await tester.send("/ask как записаться в секцию")
    staff_msg = tester.last(STAFF_CHAT_ID)
    tester.auto_deliver = False
    _fail(tester, failure)  # the staff confirmation fails first
    await tester.staff_reply(staff_msg, "Через Навигатор")
    assert "отправлен родителю" in tester.last(STAFF_CHAT_ID).text
    async with tester.db() as session:
        handoff = await session.scalar(select(FaqHandoff))
        assert handoff is not None and handoff.answered_by == ADMIN_ID
    # the answer to the parent is an outbox row: a failure there is retried, never lost
    tester.notices = NoticeWorker(
        tester.bot, tester.app.services["outbox"], group_interval=0, private_interval=0, retry_delays=(0.1,)
    )
    status, description, retry_after = failure
    tester.session.fail_next(status, description, method="SendMessage", retry_after=retry_after)
    await tester.deliver(settle=3.0)
    assert "Через Навигатор" in tester.last(PARENT_ID).text


async def test_answer_to_a_parent_who_blocked_the_bot_is_reported_to_staff(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("/ask вопрос про сертификат")
    staff_msg = tester.last(STAFF_CHAT_ID)
    tester.auto_deliver = False
    await tester.staff_reply(staff_msg, "Ответ")
    tester.session.fail_next(403, "Forbidden: bot was blocked by the user", method="SendMessage")
    await tester.deliver()
    await tester.deliver()
    assert "не доставлен" in tester.last(STAFF_CHAT_ID).text
    async with tester.db() as session:
        states = (await session.scalars(select(Notice.state).order_by(Notice.id))).all()
    assert "blocked" in states and states[-1] == "sent"
