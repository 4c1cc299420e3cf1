"""Catalogue benchmark: import a 20,000-row XLSX, then search p95 at 20,000 programs (SQLite).

    .venv/bin/python bench/catalogue.py [--programs 20000] [--queries 300]

Generates a realistic XLSX (the Navigator's columns), imports it through the
real importer (parse + apply into a fresh, migrated SQLite file, through the
catalogue service), then times the bot's search (`CatalogueService.search`: one
read unit of work, ranked ids + the first page's rows) for direction+age and
direction+age+keyword queries in one municipality (each also counts the districts of
its results for the district buttons), and prints the figures.
Targets: import ≤ 15 s, search p95 ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content import load_content  # noqa: E402
from bot.directions import Direction  # noqa: E402
from bot.services.catalogue import CatalogueService  # noqa: E402
from bot.services.catalogue.query import AgeRange  # noqa: E402
from bot.services.catalogue.search import SearchFilters  # noqa: E402
from bot.services.catalogue.store import parse_for_content  # noqa: E402
from bot.views.catalogue import PAGE_SIZE  # noqa: E402
from db import migrate  # noqa: E402
from db.engine import create_engine  # noqa: E402
from db.uow import Database  # noqa: E402

SUBJECTS: dict[Direction, list[str]] = {
    Direction.TECH: ["Робототехника", "Лего-конструирование", "Программирование на Python",
                     "3D-моделирование", "Авиамоделирование", "Электроника", "Scratch", "Квадрокоптеры",
                     "Техническое творчество"],
    Direction.SCIENCE: ["Юный эколог", "Химия вокруг нас", "Астрономия", "Юный натуралист",
                        "Экспериментальная физика", "Биология", "Аквариумистика", "Научные опыты"],
    Direction.SPORT: ["Футбол", "Мини-футбол", "Плавание", "Шахматы", "Каратэ", "Самбо", "Волейбол",
                      "Баскетбол", "Лёгкая атлетика", "Лыжные гонки", "Художественная гимнастика"],
    Direction.ART: ["Изостудия", "Рисование", "Хореография", "Танцевальная студия", "Вокал", "Хоровое пение",
                    "Театральная студия", "Гитара", "Керамика и лепка", "Декоративная роспись"],
    Direction.TOURISM: ["Спортивный туризм", "Краеведение", "Юные экскурсоводы", "Спортивное ориентирование",
                        "Пешеходный туризм", "Летопись края"],
    Direction.SOCIAL: ["Школа юного журналиста", "Волонтёрский отряд", "Финансовая грамотность",
                       "Ментальная арифметика", "Психология общения", "Английский язык", "Школа лидера"],
}  # fmt: skip
NAMES = ["«Радуга»", "«Старт»", "«Орбита»", "«Искра»", "«Сокол»", "«Ритм»", "«Мечта»", "«Горизонт»", ""]
LEVELS = ["для начинающих", "базовый уровень", "продвинутый уровень", "", ""]
ORGS = ["МБУ ДО «Дом детского творчества»", "МБУ ДО «ДЮСШ»", "МБУ ДО «Станция юных техников»",
        "МБОУ «СОШ № 1»", "МБОУ «СОШ № 2»", "МБУ ДО «ДШИ»", "Центр «IT-куб»", "ЧОУ ДО «Знайка»"]  # fmt: skip
FUNDING = ["бесплатно", "по сертификату", "платно"]
HEADER = ["ID программы", "Наименование программы", "Направленность", "Возраст от", "Возраст до",
          "Муниципалитет", "Организация", "Адрес", "Район", "Форма обучения", "Финансирование", "Стоимость",
          "ОВЗ", "Описание", "Расписание", "Ссылка"]  # fmt: skip
# Districts of a city (the results' district buttons count them on every search).
DISTRICTS = ["Центральный", "Октябрьский", "Ленинский", "Свердловский", "Правобережный", "мкр. Юбилейный",
             "мкр. Солнечный", "мкр. Первомайский", ""]  # fmt: skip
KEYWORD_QUERIES: dict[Direction, list[str]] = {
    Direction.TECH: ["робототехника", "программирование", "3d", "лего"],
    Direction.SCIENCE: ["экология", "химия", "астрономия"],
    Direction.SPORT: ["футбол", "шахматы", "плавание", "борьба"],
    Direction.ART: ["рисование", "танцы", "вокал", "театр"],
    Direction.TOURISM: ["туризм", "краеведение"],
    Direction.SOCIAL: ["журналистика", "волонтеры", "английский"],
}


def generate_xlsx(path: Path, count: int, municipalities: list[str], seed: int = 7) -> None:
    from openpyxl import Workbook

    rnd = random.Random(seed)
    # A regular workbook with a <dimension> element, as Excel and the Navigator's export
    # write it (write-only mode omits it, and openpyxl's reader then scans the sheet twice).
    # openpyxl stores every text cell inline, which costs the reader more than Excel's
    # shared strings do: the figure is on the safe side.
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Программы"
    ws.append(HEADER)
    directions = list(Direction)
    for n in range(count):
        d = rnd.choice(directions)
        subject = rnd.choice(SUBJECTS[d])
        title = " ".join(p for p in (subject, rnd.choice(NAMES), rnd.choice(LEVELS)) if p)
        low = rnd.randint(5, 15)
        high = min(18, low + rnd.randint(1, 6))
        funding = rnd.choice(FUNDING)
        price = "" if funding == "бесплатно" else str(rnd.randrange(800, 4000, 100))
        pid = 100000 + n
        ws.append([
            pid, title, d.title, low, high, rnd.choice(municipalities), rnd.choice(ORGS),
            f"ул. Ленина, д. {rnd.randint(1, 120)}", rnd.choice(DISTRICTS),
            rnd.choice(["очно"] * 8 + ["дистанционно", "смешанно"]),
            funding, price, rnd.choice(["да"] + ["нет"] * 7),
            f"Программа «{subject}»: занятия в группах до 12 человек, итоговый проект и выступление "
            f"на городском конкурсе. Подходит детям {low}–{high} лет.",
            rnd.choice(["Пн, Ср 16:00–17:30", "Вт, Чт 15:00–16:30", "Сб 10:00–11:30"]),
            f"https://р38.навигатор.дети/program/{pid}",
        ])  # fmt: skip
    wb.save(path)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


async def main(programs: int, queries: int) -> int:
    import os

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPU(s), load average {load:.2f} at start (figures scale with it)")
    content = load_content(ROOT / "content")
    names = [m.name for m in content.municipalities.values()]
    municipality_id = next(iter(content.municipalities))
    with tempfile.TemporaryDirectory() as tmp:
        xlsx = Path(tmp) / "programs.xlsx"
        t0 = time.perf_counter()
        generate_xlsx(xlsx, programs, names)
        print(f"generated {programs} programs: {xlsx.stat().st_size / 1e6:.1f} MB XLSX "
              f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        await migrate.upgrade_async(url)
        database = Database(create_engine(url))
        catalogue = CatalogueService(database)

        t0, cpu0 = time.perf_counter(), time.process_time()
        parsed = parse_for_content(xlsx.read_bytes(), content, name=xlsx.name)
        t_parse = time.perf_counter() - t0
        if not parsed.ok:
            print("generated file did not validate:", parsed.file_error, parsed.row_errors[:3])
            return 1
        plan = await catalogue.import_records(parsed.records)
        t_import, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        print(f"import of a {programs}-row XLSX: {t_import:.2f} s "
              f"(read+validate {t_parse:.2f} s, database {t_import - t_parse:.2f} s; "
              f"CPU time {cpu:.2f} s; added {len(plan.added)})  target ≤ 15 s")  # fmt: skip

        rnd = random.Random(11)
        results: dict[str, list[float]] = {"direction+age": [], "direction+age+keyword": []}
        found: dict[str, list[int]] = {k: [] for k in results}
        for i in range(queries * 2 + 20):
            d = rnd.choice(list(Direction))
            age = AgeRange(a := rnd.randint(5, 18), a)
            kind = "direction+age" if i % 2 == 0 else "direction+age+keyword"
            keywords = (rnd.choice(KEYWORD_QUERIES[d]),) if kind.endswith("keyword") else ()
            filters = SearchFilters(municipality_id=municipality_id, direction=d, age=age, keywords=keywords)
            t0 = time.perf_counter()
            result = await catalogue.search(filters, page=0, page_size=PAGE_SIZE)
            elapsed = (time.perf_counter() - t0) * 1000
            assert result is not None
            if i >= 20:  # warm-up
                results[kind].append(elapsed)
                found[kind].append(result.total)
        for kind, samples in results.items():
            print(f"search {kind}: p95 {p95(samples):.1f} ms, median {statistics.median(samples):.1f} ms, "
                  f"max {max(samples):.1f} ms over {len(samples)} queries "
                  f"(mean {statistics.mean(found[kind]):.0f} results)  target p95 ≤ 20 ms")  # fmt: skip
        await database.dispose()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--programs", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.programs, args.queries)))
