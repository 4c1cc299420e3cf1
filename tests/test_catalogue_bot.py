"""Dispatcher-level scenarios: search dialogue, free text, cards, staff import, console demo."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.services.activity import Kind
from bot.services.catalogue import CatalogueService, parts
from bot.views.catalogue import ImportCD, SearchCD
from db.models import ActivityEvent, PendingImport, Program, User
from tests.support.client import ADMIN_ID, PARENT_ID, BotTester, texts

STAFF_ID = 5005
NON_TEXT_ANSWER = "Я пока не умею разбирать файл"


@pytest.fixture
async def demo(tester: BotTester) -> BotTester:
    await _catalogue(tester.app).load_demo_if_empty(tester.app.content.current)
    await tester.start_and_consent()
    return tester


def _catalogue(app: App) -> CatalogueService:
    service = app.services["catalogue"]
    assert isinstance(service, CatalogueService)
    return service


async def _searches(tester: BotTester) -> list[ActivityEvent]:
    async with tester.db() as session:
        rows = await session.scalars(
            select(ActivityEvent).where(ActivityEvent.kind == str(Kind.PROGRAM_SEARCH))
        )
        return list(rows)


def found(text: str) -> int | None:
    """The count in a results header («… — нашлось 4 программы»), None when there is none."""
    m = re.search(r"— нашл\w+ (\d+) программ", text)
    return int(m.group(1)) if m else None


async def test_search_dialogue_to_card_and_back(demo: BotTester) -> None:
    sent = await demo.send("/search")
    assert "Выберите направленность" in sent[0].text
    labels = [b[0] for b in sent[0].buttons]
    assert labels[-2:] == ["Любая", "🏠 Главное меню"] and len(labels) == 8
    sent = await demo.click("Техническая")
    assert "Сколько лет ребёнку" in sent[0].text
    sent = await demo.click("10")
    assert "техническая, 10 лет" in sent[0].text
    sent = await demo.click("Бесплатно")
    assert "✅ Бесплатно" in [b[0] for b in sent[0].buttons]
    sent = await demo.click("Показать программы")
    page = sent[0]
    assert "<b>Бесплатные кружки технической направленности для 10 лет</b>" in page.text
    async with demo.db() as session:
        expected = await session.scalar(
            select(func.count()).select_from(Program).where(
                Program.municipality_id == "sayansk", Program.direction == "tech", Program.funding == "free",
                Program.age_from <= 10, Program.age_to >= 10,
            )
        )  # fmt: skip
    assert found(page.text) == expected
    sent = await demo.click("1. ")
    card = sent[0]
    urls = [url for _, _, url in card.buttons if url]
    assert urls and urls[0].startswith("https://xn--38-kmc.xn--80aafey1amqq.xn--d1acj3b/program/")
    assert "Оплата: бесплатно" in card.text
    sent = await demo.click("К списку")
    assert sent[0].text == page.text  # back keeps every filter
    events = await _searches(demo)
    assert len(events) == 1
    assert (events[0].topic, events[0].age, events[0].value, events[0].municipality_id) == (
        "tech",
        10,
        expected,
        "sayansk",
    )
    assert events[0].outcome == "free" and events[0].user_id == PARENT_ID
    async with demo.db() as session:
        views = await session.scalar(select(func.count()).where(ActivityEvent.kind == str(Kind.PROGRAM_VIEW)))
    assert views == 1


async def test_pagination_and_forged_pages(demo: BotTester) -> None:
    await demo.send("/search")
    await demo.click("Любая")
    await demo.click("Любой возраст")
    sent = await demo.click("Показать программы")
    async with demo.db() as session:
        total = await session.scalar(
            select(func.count()).select_from(Program).where(Program.municipality_id == "sayansk")
        )
    pages = -(-(total or 0) // 5)
    assert pages > 2 and found(sent[0].text) == total
    assert f"Страница 1 из {pages}" in sent[0].text
    assert [b[0] for b in sent[0].buttons][5:7] == [f"1/{pages}", "▶"]
    sent = await demo.click("▶")
    assert f"Страница 2 из {pages}" in sent[0].text
    sent = await demo.click("◀")
    assert f"Страница 1 из {pages}" in sent[0].text
    page = demo.last()
    for action in ("pg", "res"):
        assert await demo.press(page, SearchCD(a=action, p=99).pack()) == []
        assert "Такой страницы нет" in demo.alerts()[-1]
    for forged_cd in (
        SearchCD(a="pg", d="nope"),
        SearchCD(a="pg", g="40"),
        SearchCD(a="pg", f="gratis"),
        SearchCD(a="pg", o=7),
        SearchCD(a="pg", p=-1),
        SearchCD(a="drop"),
    ):
        assert await demo.press(page, forged_cd.pack()) == []
        assert "не подходит к поиску" in demo.alerts()[-1]
    assert await demo.press(page, "ps:pg:too:few") == []
    assert "кнопка устарела" in demo.alerts()[-1]
    await demo.press(page, SearchCD(a="open", i=999999).pack())
    assert "Программа не найдена" in demo.alerts()[-1]
    assert len(await _searches(demo)) == 1  # page turns are not new searches


async def test_typed_age_and_out_of_range(demo: BotTester) -> None:
    await demo.send("/search")
    await demo.click("Художественная")
    sent = await demo.send("40")
    assert "от 3 до 18 лет" in sent[0].text
    sent = await demo.send("как получить сертификат")
    assert "Фильтры" not in sent[0].text  # not an age: left to the FAQ (here the fallback)
    sent = await demo.send("ребенку 7")
    assert "художественная, 7 лет" in sent[0].text
    sent = await demo.click("◀ Возраст")
    assert "Сколько лет" in sent[0].text
    sent = await demo.send("10-12")
    assert "художественная, 10–12 лет" in sent[0].text
    await demo.click("◀ Возраст")
    sent = await demo.send("шахматы для 10 лет")  # a new search, not just an age
    assert "<b>Кружки по шахматам для 10 лет</b>" in sent[0].text and found(sent[0].text)


async def test_saved_child_ages_are_offered(demo: BotTester) -> None:
    async with demo.db() as session:
        user = await session.get(User, PARENT_ID)
        assert user is not None
        user.child_ages = [12, 7, 30]
    await demo.send("/search")
    sent = await demo.click("Техническая")
    labels = [b[0] for b in sent[0].buttons]
    assert labels[:2] == ["👶 7 лет", "👶 12 лет"]
    sent = await demo.click("👶 12 лет")
    assert "техническая, 12 лет" in sent[0].text


async def test_menu_button_opens_search(demo: BotTester) -> None:
    await demo.send("/menu")
    sent = await demo.click("Найти кружок")
    assert "Выберите направленность" in sent[0].text


async def test_free_text_search_and_faq_left_alone(demo: BotTester) -> None:
    sent = await demo.send("робототехника для 10 лет")
    assert "<b>Кружки по робототехнике для 10 лет</b>" in sent[0].text and found(sent[0].text)
    assert "1. <b>Робототехника" in sent[0].text
    sent = await demo.send("как записаться на кружок")
    assert "Нашлось" not in texts(sent)
    assert "Я не понял" not in sent[0].text  # the FAQ router takes it, not the search
    sent = await demo.send("спортивные секции")
    assert "Сколько лет ребёнку" in sent[0].text and "физкультурно-спортивная" in sent[0].text
    sent = await demo.send("9")
    assert "физкультурно-спортивная, 9 лет" in sent[0].text
    sent = await demo.send("футбол для 30 лет")
    assert "от 3 до 18 лет" in sent[0].text
    events = await _searches(demo)
    assert [e.outcome for e in events] == ["kw"]


async def test_no_results_names_the_filter_and_drops_it(demo: BotTester) -> None:
    sent = await demo.send("танцы девочке 7 лет бесплатно")
    assert "<b>Бесплатные кружки по танцам для 7 лет</b> — ничего не нашлось" in sent[0].text
    assert "Мешает фильтр «оплата»: без него найдутся 2 программы" in sent[0].text
    sent = await demo.click("Убрать фильтр «оплата»")
    assert "<b>Кружки по танцам для 7 лет</b> — нашлось 2 программы" in sent[0].text
    assert "бесплатно" not in sent[0].text
    events = await _searches(demo)
    assert events[0].value == 0 and (events[1].value or 0) > 0


async def test_keyword_buttons_after_new_search_are_stale(demo: BotTester) -> None:
    await demo.send("шахматы")
    page = demo.last()
    await demo.send("/search")  # clears the remembered keywords
    await demo.press(page, SearchCD(a="res", k=1).pack())
    assert "слова запроса уже забыты" in demo.alerts()[-1]


# --- staff import ---------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


HEADER = "ID программы;Наименование программы;Направленность;Возраст от;Возраст до;Муниципалитет;Лишний"


async def _program_ids(tester: BotTester) -> set[str]:
    async with tester.db() as session:
        return set(await session.scalars(select(Program.external_id)))


async def test_staff_import_summary_then_apply(tester: BotTester, tmp_path: Path) -> None:
    await tester.send(f"/staff add {STAFF_ID}", user_id=ADMIN_ID)
    path = _write(
        tmp_path, "catalogue.csv", HEADER + "\n1;Шахматы;ФСП;7;10;Саянск;x\n2;Вокал;худ;7;10;Зима;y\n"
    )
    sent = await tester.send_document(path, user_id=STAFF_ID)
    summary = texts(sent)
    assert "Новые программы: 2\n• Шахматы (ID 1)\n• Вокал (ID 2)" in summary
    assert "Неизвестные столбцы (пропущены): Лишний" in summary
    assert [b[0] for b in sent[-1].buttons] == ["✅ Применить", "Отмена"]
    assert await _program_ids(tester) == set()
    await tester.click("Применить", user_id=STAFF_ID)
    assert "Каталог обновлён" in tester.alerts()[-1]
    assert "добавлено 2" in tester.last(STAFF_ID).text
    assert await _program_ids(tester) == {"1", "2"}
    sent = await tester.send_document(path, user_id=STAFF_ID)
    assert "Каталог уже совпадает с файлом" in sent[-1].text and not sent[-1].buttons
    # The same button again: the pending import is gone.
    message = next(s for s in reversed(tester.sent) if s.buttons and "Применить" in s.buttons[0][0])
    await tester.press(message, message.buttons[0][1] or "", user_id=STAFF_ID)
    assert "уже применён, отменён или устарел" in tester.alerts()[-1]


async def test_import_command_then_file_and_cancel(tester: BotTester, tmp_path: Path) -> None:
    sent = await tester.send("/import", user_id=ADMIN_ID)
    assert "Пришлите файл каталога" in sent[0].text
    sent = await tester.send("вот", user_id=ADMIN_ID)
    assert "Жду файл XLSX или CSV" in sent[0].text
    path = _write(tmp_path, "export.txt", HEADER + "\n5;Футбол;ФСП;7;10;Саянск;\n")
    sent = await tester.send_document(path, user_id=ADMIN_ID)
    assert "Новые программы: 1" in texts(sent)
    await tester.click("Отмена", user_id=ADMIN_ID)
    assert "Импорт отменён" in tester.alerts()[-1]
    assert await _program_ids(tester) == set()
    async with tester.db() as session:
        assert await session.scalar(select(func.count()).select_from(PendingImport)) == 0


async def test_invalid_file_changes_nothing_and_offers_no_buttons(tester: BotTester, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "bad.csv", HEADER + "\n1;Шахматы;ФСП;семь;10;Саянск;\n2;Танцы;кулинарная;7;40;Саянск;\n"
    )
    sent = await tester.send_document(path, user_id=ADMIN_ID)
    text = texts(sent)
    assert "Ошибки в строках: 3" in text and "строка 2: «Возраст от»: «семь» — не число" in text
    assert "строка 3: направленность «кулинарная» не из шести" in text
    assert all(not s.buttons for s in sent)
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 100)
    sent = await tester.send_document(garbage, user_id=ADMIN_ID)
    assert "Файл не принят: файл не похож на таблицу" in sent[0].text
    assert await _program_ids(tester) == set()


async def test_forged_or_foreign_import_buttons_are_refused(tester: BotTester, tmp_path: Path) -> None:
    await tester.send(f"/staff add {STAFF_ID}", user_id=ADMIN_ID)
    path = _write(tmp_path, "c.csv", HEADER + "\n1;Шахматы;ФСП;7;10;Саянск;\n")
    sent = await tester.send_document(path, user_id=ADMIN_ID)
    message = sent[-1]
    await tester.press(message, ImportCD(a="apply", t="AAAAAAAA").pack(), user_id=ADMIN_ID)
    assert "устарел" in tester.alerts()[-1]
    await tester.press(message, message.buttons[0][1] or "", user_id=STAFF_ID)  # another staff member
    assert "устарел" in tester.alerts()[-1]
    await tester.start_and_consent()
    await tester.press(message, message.buttons[0][1] or "", user_id=PARENT_ID)
    assert "только сотрудникам" in tester.alerts()[-1]
    assert await _program_ids(tester) == set()


async def test_parent_document_gets_the_usual_answer(tester: BotTester, tmp_path: Path) -> None:
    await tester.start_and_consent()
    path = _write(tmp_path, "catalogue.csv", HEADER + "\n1;Шахматы;ФСП;7;10;Саянск;\n")
    sent = await tester.send_document(path)
    assert NON_TEXT_ANSWER in sent[0].text
    sent = await tester.send("/import")
    assert "только сотрудникам" in sent[0].text
    assert await _program_ids(tester) == set()


async def test_forget_deletes_pending_imports(tester: BotTester, tmp_path: Path) -> None:
    path = _write(tmp_path, "c.csv", HEADER + "\n1;Шахматы;ФСП;7;10;Саянск;\n")
    await tester.send_document(path, user_id=ADMIN_ID)
    sent = await tester.send("/mydata", user_id=ADMIN_ID)
    assert "не применённые файлы каталога программ: 1" in sent[0].text
    await tester.send("/forget", user_id=ADMIN_ID)
    await tester.click("Да, удалить", user_id=ADMIN_ID)
    async with tester.db() as session:
        assert await session.scalar(select(func.count()).select_from(PendingImport)) == 0


async def test_console_hook_loads_the_demo_catalogue_once(app: App) -> None:
    (hook,) = parts().console_hooks
    said = await hook(app.database, app.content.current)
    assert said is not None and "загружены демо-данные — 189" in said
    async with app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Program)) == 189
    assert await hook(app.database, app.content.current) is None


async def test_empty_catalogue_is_explained(tester: BotTester) -> None:
    await tester.start_and_consent()
    sent = await tester.send("шахматы")
    assert "пока нет программ вашего муниципалитета" in sent[0].text


# --- commit, then speak -----------------------------------------------------------------------

TWO_PROGRAMS = HEADER + "\n1;Шахматы;ФСП;7;10;Саянск;x\n2;Вокал;худ;7;10;Зима;y\n"
# One 502 or 429 is retried by the sender and the reply arrives; a 403 is final.
RETRIED = [
    pytest.param((502, "Bad Gateway", None), id="502"),
    pytest.param((429, "Too Many Requests: retry after 1", 1), id="429"),
]
FINAL = (403, "Forbidden: bot was blocked by the user", None)


def _fail_next_reply(tester: BotTester, failure: tuple[int, str, int | None]) -> None:
    status, description, retry_after = failure
    tester.session.fail_next(status, description, method="SendMessage", retry_after=retry_after)


async def _pending(tester: BotTester) -> list[tuple[str, int]]:
    async with tester.db() as session:
        return [(p.id, p.user_id) for p in await session.scalars(select(PendingImport))]


@pytest.mark.parametrize("failure", RETRIED)
async def test_pending_import_is_kept_and_the_summary_arrives_after_a_failed_send(
    tester: BotTester, tmp_path: Path, failure: tuple[int, str, int | None]
) -> None:
    path = _write(tmp_path, "catalogue.csv", TWO_PROGRAMS)
    _fail_next_reply(tester, failure)
    sent = await tester.send_document(path, user_id=ADMIN_ID)
    assert "Новые программы: 2" in texts(sent)
    assert [b[0] for b in sent[-1].buttons] == ["✅ Применить", "Отмена"]
    token = ImportCD.unpack(sent[-1].buttons[0][1] or "").t
    assert await _pending(tester) == [(token, ADMIN_ID)]
    assert await _program_ids(tester) == set()


@pytest.mark.parametrize("failure", RETRIED)
async def test_applied_import_stays_applied_and_the_reply_arrives_after_a_failed_send(
    tester: BotTester, tmp_path: Path, failure: tuple[int, str, int | None]
) -> None:
    await tester.send_document(_write(tmp_path, "catalogue.csv", TWO_PROGRAMS), user_id=ADMIN_ID)
    _fail_next_reply(tester, failure)
    await tester.click("Применить", user_id=ADMIN_ID)
    assert await _program_ids(tester) == {"1", "2"}
    assert await _pending(tester) == []
    assert "Каталог обновлён: добавлено 2" in tester.last(ADMIN_ID).text


async def test_applied_import_stays_applied_when_the_reply_cannot_be_sent(
    tester: BotTester, tmp_path: Path
) -> None:
    await tester.send_document(_write(tmp_path, "catalogue.csv", TWO_PROGRAMS), user_id=ADMIN_ID)
    _fail_next_reply(tester, FINAL)
    sent = await tester.click("Применить", user_id=ADMIN_ID)
    assert not any("Каталог обновлён" in s.text for s in sent)  # the reply was lost...
    assert await _program_ids(tester) == {"1", "2"}  # ... but not the import
    assert await _pending(tester) == []
    assert "Каталог обновлён" in tester.alerts()  # the button's own answer came before


@pytest.mark.parametrize("failure", [*RETRIED, pytest.param(FINAL, id="403")])
async def test_cancelled_import_stays_cancelled_whatever_happens_to_the_reply(
    tester: BotTester, tmp_path: Path, failure: tuple[int, str, int | None]
) -> None:
    summary = (await tester.send_document(_write(tmp_path, "c.csv", TWO_PROGRAMS), user_id=ADMIN_ID))[-1]
    _fail_next_reply(tester, failure)
    sent = await tester.click("Отмена", user_id=ADMIN_ID)
    assert await _pending(tester) == []
    arrived = any("Импорт отменён, каталог не изменён." in s.text for s in sent)
    assert arrived == (failure is not FINAL)
    await tester.press(summary, summary.buttons[0][1] or "", user_id=ADMIN_ID)  # «Применить» after all
    assert "уже применён, отменён или устарел" in tester.alerts()[-1]
    assert await _program_ids(tester) == set()


async def test_stale_pending_import_is_refused(tester: BotTester, tmp_path: Path) -> None:
    await tester.send_document(_write(tmp_path, "catalogue.csv", TWO_PROGRAMS), user_id=ADMIN_ID)
    async with tester.db() as session:
        for pending in await session.scalars(select(PendingImport)):
            pending.created_at = pending.created_at - timedelta(hours=2)
    await tester.click("Применить", user_id=ADMIN_ID)
    assert "устарел" in tester.alerts()[-1]
    assert await _program_ids(tester) == set()


async def test_searching_writes_only_the_log_and_only_after_the_answer(demo: BotTester) -> None:
    database = demo.app.database
    before = database.writes
    await demo.send("/search")
    await demo.click("Любая")
    await demo.send("10")  # the typed age step
    assert database.writes == before  # dialogue steps only read
    await demo.click("Показать программы")
    assert database.writes == before + 1 and len(await _searches(demo)) == 1
    await demo.click("▶")
    await demo.click("◀")
    assert database.writes == before + 1  # page turns are reads
    await demo.click("1. ")
    assert database.writes == before + 2  # the card view is logged
    # A search whose answer is lost is not logged (the log follows the answer).
    _fail_next_reply(demo, FINAL)
    sent = await demo.send("шахматы")
    assert not any("Нашлось" in s.text for s in sent)
    assert len(await _searches(demo)) == 1
