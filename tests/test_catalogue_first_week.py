"""Issue 12, the program catalogue: what a parent and a methodist stumbled on in the first week.

Dispatcher-level scenarios on the demo catalogue: ages the catalogue holds, free text that
keeps the age and understands «рядом», districts, plain headers, cards without a link,
ways back, cancel words; the import that removes programs, municipality names as files
write them.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy import select, update

from bot.app import App, create_app
from bot.services.catalogue import CatalogueService
from bot.services.catalogue.search import district_code
from bot.settings import PROJECT_ROOT, Settings
from bot.views.catalogue import ImportCD, SearchCD
from db.models import PendingImport, Program
from tests.support.client import ADMIN_ID, BotTester, texts

MENU = "🏠 Главное меню"


def found(text: str) -> int | None:
    m = re.search(r"— нашл\w+ (\d+) программ", text)
    return int(m.group(1)) if m else None


def labels(sent: object) -> list[str]:
    return [b[0] for b in sent.buttons]  # type: ignore[attr-defined]


async def _demo(tester: BotTester, municipality: str = "Саянск") -> BotTester:
    catalogue = tester.app.services["catalogue"]
    assert isinstance(catalogue, CatalogueService)
    await catalogue.load_demo_if_empty(tester.app.content.current)
    await tester.start_and_consent(municipality=municipality)
    return tester


@pytest.fixture
async def demo(tester: BotTester) -> BotTester:
    return await _demo(tester)


async def _titles_in(tester: BotTester, district: str) -> set[str]:
    async with tester.db() as session:
        return set(await session.scalars(select(Program.title).where(Program.district == district)))


# --- ages the catalogue holds ----------------------------------------------------------------


async def test_a_four_year_old_is_searched_not_refused(demo: BotTester) -> None:
    sent = await demo.send("шахматы 4 года")
    assert "<b>Кружки по шахматам для 4 лет</b> — нашлась 1 программа" in sent[0].text
    assert "Шахматы для дошкольников «Пешка»" in sent[0].text
    assert "Навигатор" not in sent[0].text and "от 5" not in sent[0].text  # no certificate lecture
    await demo.send("/search")
    sent = await demo.click("Художественная")
    assert labels(sent[0])[:2] == ["3", "4"]
    sent = await demo.click("3")
    assert "художественная, 3 года" in sent[0].text
    sent = await demo.click("Показать программы")
    assert "Танцевальная студия для малышей «Капитошка»" in sent[0].text


async def test_the_certificate_age_is_explained_only_when_paying_with_it(demo: BotTester) -> None:
    sent = await demo.send("подготовка к школе 4 года по сертификату")
    text = sent[0].text
    assert "Кружки по подготовке к школе для 4 лет, оплата сертификатом" in text
    assert "выдают детям от 5 до 18 лет, поэтому за ребёнка 4 лет занятия сертификатом не оплатить" in text
    assert "Убрать фильтр «оплата»" in labels(sent[0])
    sent = await demo.click("1. Развивайка")
    assert "Сертификатом можно оплатить занятия детей от 5 лет" in sent[0].text
    sent = await demo.send("подготовка к школе 6 лет по сертификату")  # the certificate applies
    assert "выдают детям" not in sent[0].text and found(sent[0].text) == 1
    sent = await demo.send("шахматы 12 лет по сертификату")
    assert found(sent[0].text) and "выдают детям" not in sent[0].text
    sent = await demo.click("1. ")
    assert "Сертификатом можно оплатить" not in sent[0].text  # a program from 10: nothing to explain


async def test_the_note_reads_the_municipalitys_own_ages(demo: BotTester) -> None:
    sent = await demo.send("/search")
    await demo.click("Социально-гуманитарная")
    await demo.send("17-18")
    sent = await demo.click("По сертификату")
    assert "за ребёнка 17–18 лет" not in sent[0].text  # 17 is within 5-18
    await demo.click("◀ Возраст")
    sent = await demo.send("18")  # the filter «по сертификату» is kept
    assert "за ребёнка 18 лет занятия сертификатом не оплатить" in sent[0].text  # ends at the 18th birthday


# --- free text that keeps the age and understands «рядом» --------------------------------------


async def test_a_typed_age_is_not_asked_again(demo: BotTester) -> None:
    sent = await demo.send("кружки для ребенка 8 лет")
    assert "<b>Кружки и секции для 8 лет</b>" in sent[0].text
    assert "Сколько лет" not in sent[0].text and labels(sent[0])[-1] == MENU
    sent = await demo.click("Техническая")
    assert "<b>Кружки технической направленности для 8 лет</b>" in sent[0].text and found(sent[0].text)
    async with demo.db() as session:
        expected = len(list(await session.scalars(select(Program.id).where(
            Program.municipality_id == "sayansk", Program.age_from <= 8, Program.age_to >= 8,
        ))))  # fmt: skip
    await demo.send("кружки для ребенка 8 лет")
    sent = await demo.click("Любая")
    assert f"<b>Кружки для 8 лет</b> — нашлось {expected} программ" in sent[0].text


async def test_nearby_is_answered_plainly_with_districts(demo: BotTester) -> None:
    sent = await demo.send("танцы рядом с домом")
    text = sent[0].text
    assert "Я не знаю вашего адреса" in text and "выберите район кнопкой ниже" in text
    districts = [label for label in labels(sent[0]) if label.startswith("📍 ")]
    assert "📍 мкр. Центральный (2)" in districts and len(districts) >= 2
    sent = await demo.click("📍 мкр. Центральный")
    text = sent[0].text
    assert "<b>Кружки по танцам, 📍 мкр. Центральный</b> — нашлось 2 программы" in text
    assert "Я не знаю вашего адреса" not in text  # said once
    shown = set(re.findall(r"\d\. <b>(.+?)</b>", text))
    assert shown and shown <= await _titles_in(demo, "мкр. Центральный")
    assert "✖ Все районы" in labels(sent[0])
    sent = await demo.click("✖ Все районы")
    assert found(sent[0].text) == 4 and "📍 мкр. Центральный (2)" in labels(sent[0])
    # With the programs in one district only, no buttons: the note says to look at the addresses.
    sent = await demo.send("секция футбола рядом с домом")
    assert "<b>Кружки по футболу</b> — нашлась 1 программа" in sent[0].text  # «Мини-футбол»
    assert "посмотрите адреса в списке" in sent[0].text
    assert not any(label.startswith("📍") for label in labels(sent[0]))


async def test_the_list_shows_where(tester: BotTester) -> None:
    await _demo(tester, "Зима")
    sent = await tester.send("футбол")
    assert "📍 Привокзальный, ул. Клименко, д. 38" in sent[0].text
    sent = await tester.click("1. Футбол")
    assert "Адрес: Зима, ул. Клименко, д. 38\nРайон: Привокзальный" in sent[0].text


async def test_a_district_the_address_names_is_not_repeated(demo: BotTester) -> None:
    sent = await demo.send("мини-футбол")  # Саянск: the микрорайон is the address's first part
    assert "📍 мкр. Олимпийский, д. 5" in sent[0].text and "мкр. Олимпийский, мкр." not in sent[0].text


async def test_headers_name_the_search_without_the_parents_word_forms(demo: BotTester) -> None:
    for typed, header in [
        ("секция футбола", "Кружки по футболу"),
        ("кружок рисования для дочки 7 лет", "Кружки по рисованию для 7 лет"),
        ("шахмты", "Кружки по шахматам"),
        ("танцы бесплатно", "Бесплатные кружки по танцам"),
        ("плавание для детей с овз", "Кружки по плаванию, для детей с ОВЗ"),
    ]:
        sent = await demo.send(typed)
        assert f"<b>{header}</b> — " in sent[0].text, typed
        assert "«" not in sent[0].text.split("\n")[0], typed
    sent = await demo.send("кружок бдыщщ")  # a word nothing knows: quoted, with a hint, no «all 113»
    assert "<b>Кружки по запросу «бдыщщ»</b> — ничего не нашлось." in sent[0].text
    assert "Попробуйте написать одним словом" in sent[0].text
    assert not any("Убрать фильтр" in label for label in labels(sent[0]))


async def test_an_empty_list_says_what_blocks_it(demo: BotTester) -> None:
    sent = await demo.send("шахматы 3 года")
    assert "<b>Кружки по шахматам для 3 лет</b> — ничего не нашлось." in sent[0].text
    assert "Мешает фильтр «возраст»: без него найдутся 3 программы." in sent[0].text
    sent = await demo.click("Убрать фильтр «возраст»")
    assert "<b>Кружки по шахматам</b> — нашлось 3 программы" in sent[0].text


# --- cards, ways back, cancel words ----------------------------------------------------------


async def test_a_card_without_a_link_promises_no_button(demo: BotTester) -> None:
    async with demo.db() as session:
        await session.execute(update(Program).where(Program.external_id == "10186").values(url=""))
    await demo.send("шахматы 4 года")
    sent = await demo.click("1. Шахматы для дошкольников")
    card = sent[0]
    assert "кнопка ниже" not in card.text
    assert "Записаться можно в «Навигаторе»: https://р38.навигатор.дети — найдите там программу" in card.text
    assert labels(card) == ["◀ К списку", MENU]
    assert "Адрес: Саянск, мкр. Юбилейный, д. 15" in card.text
    assert "Район:" not in card.text  # the address says it already
    sent = await demo.click("◀ К списку")
    assert "Кружки по шахматам для 4 лет" in sent[0].text


async def test_every_search_screen_has_a_way_back(demo: BotTester) -> None:
    screens = []
    screens.append((await demo.send("/search"))[0])  # directions
    screens.append((await demo.click("Техническая"))[0])  # the age prompt
    screens.append((await demo.click("10"))[0])  # filters
    screens.append((await demo.click("Показать программы"))[0])  # results
    screens.append((await demo.click("1. "))[0])  # a card
    screens.append((await demo.send("шахматы 3 года"))[0])  # empty results
    for screen in screens:
        ways = [label for label in labels(screen) if label.startswith("◀") or label in (MENU, "Отмена")]
        assert ways, screen.text
    sent = await demo.click(MENU)
    assert "Главное меню" in sent[-1].text


async def test_cancel_words_and_the_cancel_button_leave_the_age_prompt(demo: BotTester) -> None:
    for word in ("отмена", "Стоп!", "назад", "не надо", "ОТМЕНИТЬ"):
        await demo.send("/search")
        await demo.click("Художественная")
        sent = await demo.send(word)  # one handler takes cancel words in every dialog
        assert "отмен" in sent[0].text.lower(), word
        sent = await demo.send("7")  # no longer the age prompt: not read as an age
        assert "художественная, 7 лет" not in texts(sent), word
    await demo.send("/search")
    await demo.click("Художественная")
    sent = await demo.click("Отмена")
    assert "Поиск отменён" in sent[0].text
    sent = await demo.send("7")
    assert "художественная, 7 лет" not in texts(sent)


async def test_cancel_words_and_the_cancel_button_leave_the_import_prompt(tester: BotTester) -> None:
    for word in ("отмена", "стоп", "не надо"):
        sent = await tester.send("/import", user_id=ADMIN_ID)
        assert labels(sent[0]) == ["Отмена"]
        sent = await tester.send(word, user_id=ADMIN_ID)  # one handler takes cancel words in every dialog
        assert "отмен" in sent[0].text.lower(), word
        sent = await tester.send("вот", user_id=ADMIN_ID)
        assert "Жду файл" not in texts(sent), word
    await tester.send("/import", user_id=ADMIN_ID)
    sent = await tester.click("Отмена", user_id=ADMIN_ID)
    assert "Импорт отменён" in texts(sent)
    sent = await tester.send("вот", user_id=ADMIN_ID)
    assert "Жду файл" not in texts(sent)


# --- callback data and forged buttons ----------------------------------------------------------


def test_the_fullest_search_button_fits_64_bytes() -> None:
    data = SearchCD(a="open", d="sport", g="10-12", f="cert", o=1, m="dist", k=1, p=10_000, i=2_000_000_000,
                    r=district_code("Внутригородской район «Октябрьский»" * 3)).pack()  # fmt: skip
    assert len(data.encode()) <= 64, data


async def test_every_button_the_search_shows_fits_64_bytes(demo: BotTester) -> None:
    await demo.send("танцы рядом с домом")
    await demo.click("📍 мкр. Центральный")
    await demo.click("1. ")
    for sent in demo.sent:
        for _, data, _ in sent.buttons:
            assert data is None or len(data.encode()) <= 64, data


async def test_forged_and_stale_district_buttons(demo: BotTester) -> None:
    page = (await demo.send("танцы"))[0]
    await demo.press(page, SearchCD(a="res", k=1, r="ZZZ").pack())
    assert "не подходит к поиску" in demo.alerts()[-1]
    await demo.press(page, SearchCD(a="res", k=1, r="abcdef").pack())
    assert "Этого района нет в обновлённом каталоге" in demo.alerts()[-1]


# --- methodists: the import that removes programs ------------------------------------------------

HEADER = "ID программы;Наименование программы;Направленность;Возраст от;Возраст до;Муниципалитет;Округ"


def _write(tmp_path: Path, name: str, *rows: str) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


async def _programs(tester: BotTester) -> dict[str, tuple[str, str]]:
    async with tester.db() as session:
        rows = await session.execute(select(Program.external_id, Program.municipality_id, Program.district))
        return {r[0]: (r[1], r[2]) for r in rows}


THREE = ("1;Шахматы «Ладья»;ФСП;7;10;Зима;Центральный", "2;Вокал «Капель»;худ;7;10;Зима;Заречный",
         "3;Театр «Маска»;худ;7;10;Зима;")  # fmt: skip


async def test_an_import_that_removes_programs_names_them_and_asks_twice(
    tester: BotTester, tmp_path: Path
) -> None:
    await tester.send_document(_write(tmp_path, "all.csv", *THREE), user_id=ADMIN_ID)
    await tester.click("Применить", user_id=ADMIN_ID)
    assert set(await _programs(tester)) == {"1", "2", "3"}
    sent = await tester.send_document(_write(tmp_path, "one.csv", THREE[0]), user_id=ADMIN_ID)
    summary = texts(sent)
    assert "<b>Будут удалены из каталога: 2 программы</b>" in summary
    assert "<b>• Вокал «Капель» (ID 2)</b>" in summary and "<b>• Театр «Маска» (ID 3)</b>" in summary
    assert "2 программы исчезнут из каталога — перед удалением я переспрошу" in summary
    first = sent[-1]
    sent = await tester.click("Применить", user_id=ADMIN_ID)
    assert "<b>Точно удалить из каталога 2 программы?</b>" in sent[-1].text
    assert labels(sent[-1]) == ["🗑 Да, удалить 2 и применить", "Отмена"]
    assert set(await _programs(tester)) == {"1", "2", "3"}  # nothing removed yet
    # The first «Применить» again (or forged with fewer removals): asked again, nothing removed.
    token = ImportCD.unpack(first.buttons[0][1] or "").t
    for n in (0, 1):
        sent = await tester.press(first, ImportCD(a="apply", t=token, n=n).pack(), user_id=ADMIN_ID)
        assert "Точно удалить из каталога 2 программы?" in sent[-1].text
    assert set(await _programs(tester)) == {"1", "2", "3"}
    await tester.click("Да, удалить 2", user_id=ADMIN_ID)
    assert "удалено 2" in tester.last(ADMIN_ID).text
    assert set(await _programs(tester)) == {"1"}
    async with tester.db() as session:
        assert list(await session.scalars(select(PendingImport))) == []


async def test_the_removal_can_still_be_cancelled_at_the_second_question(
    tester: BotTester, tmp_path: Path
) -> None:
    await tester.send_document(_write(tmp_path, "all.csv", *THREE), user_id=ADMIN_ID)
    await tester.click("Применить", user_id=ADMIN_ID)
    await tester.send_document(_write(tmp_path, "one.csv", THREE[0]), user_id=ADMIN_ID)
    await tester.click("Применить", user_id=ADMIN_ID)
    sent = await tester.click("Отмена", user_id=ADMIN_ID)
    assert "Импорт отменён, каталог не изменён." in texts(sent)
    assert set(await _programs(tester)) == {"1", "2", "3"}


async def test_an_import_without_removals_is_applied_at_once(tester: BotTester, tmp_path: Path) -> None:
    sent = await tester.send_document(_write(tmp_path, "all.csv", *THREE), user_id=ADMIN_ID)
    assert "Будут удалены" not in texts(sent) and "Применить эти изменения?" in sent[-1].text
    await tester.click("Применить", user_id=ADMIN_ID)
    assert "добавлено 3" in tester.last(ADMIN_ID).text


async def test_municipality_names_as_files_write_them_and_districts(
    tester: BotTester, tmp_path: Path
) -> None:
    path = _write(
        tmp_path, "names.csv",
        "1;Шахматы;ФСП;7;10;г. Зима;Центральный", "2;Вокал;худ;7;10;город Зима;Заречный",
        "3;Театр;худ;7;10;Зиминское городское муниципальное образование;", "4;Лыжи;ФСП;7;10;г.Саянск;",
        "5;Хор;худ;7;10;МО «город Саянск»;мкр.  Юбилейный",
    )  # fmt: skip
    sent = await tester.send_document(path, user_id=ADMIN_ID)
    assert "Ошибки" not in texts(sent)
    await tester.click("Применить", user_id=ADMIN_ID)
    assert await _programs(tester) == {
        "1": ("zima", "Центральный"), "2": ("zima", "Заречный"), "3": ("zima", ""),
        "4": ("sayansk", ""), "5": ("sayansk", "мкр. Юбилейный"),
    }  # fmt: skip
    sent = await tester.send_document(_write(tmp_path, "bad.csv", "6;Футбол;ФСП;7;10;Зиминский район;"),
                                      user_id=ADMIN_ID)  # fmt: skip
    assert "строка 2: неизвестный муниципалитет «Зиминский район» (в настройках бота: Саянск, Зима)" in texts(
        sent
    )


@pytest.fixture
async def aliased_app(settings: Settings, tmp_path: Path) -> AsyncIterator[App]:
    """The shipped content with «Зиминский район» configured as an alias of Зима."""
    content = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", content)
    yaml_path = content / "municipalities.yaml"
    text = yaml_path.read_text(encoding="utf-8")
    aliased = text.replace("      - ЗГМО\n", "      - ЗГМО\n      - Зиминский район\n")
    assert aliased != text
    yaml_path.write_text(aliased, encoding="utf-8")
    app = create_app(settings.model_copy(update={"content_dir": content}), storage=MemoryStorage())
    yield app
    await app.engine.dispose()


async def test_a_configured_alias_is_recognised(aliased_app: App, tmp_path: Path) -> None:
    tester = BotTester(aliased_app)
    sent = await tester.send_document(_write(tmp_path, "d.csv", "6;Футбол;ФСП;7;10;Зиминский район;"),
                                      user_id=ADMIN_ID)  # fmt: skip
    assert "Ошибки" not in texts(sent)
    await tester.click("Применить", user_id=ADMIN_ID)
    assert await _programs(tester) == {"6": ("zima", "")}


async def test_the_district_shows_in_the_filters_and_can_be_dropped_there(demo: BotTester) -> None:
    await demo.send("танцы")
    await demo.click("📍 мкр. Центральный")
    sent = await demo.click("⚙️ Фильтры")
    assert "📍 мкр. Центральный" in sent[0].text and "✅ 📍 мкр. Центральный" in labels(sent[0])
    sent = await demo.click("Бесплатно")  # another filter keeps the district
    assert "✅ 📍 мкр. Центральный" in labels(sent[0])
    sent = await demo.click("✅ 📍 мкр. Центральный")
    assert "мкр. Центральный" not in sent[0].text
    sent = await demo.click("Показать программы")
    assert "📍 мкр. Центральный" not in sent[0].text.split("\n")[0]
