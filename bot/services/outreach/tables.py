"""The report as titled tables: one source for the XLSX sheets and the CSV blocks.

Known report sources (catalogue, unanswered questions, open days) get tables of
their own when present and well-formed; unknown ones stay in the JSON only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.directions import Direction
from bot.services.outreach import vocab

logger = logging.getLogger(__name__)

Cell = str | int | float | None

MONTHS = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
          "ноябрь", "декабрь")  # fmt: skip


@dataclass
class Table:
    sheet: str  # sheet name (≤ 31 characters)
    title: str  # what the table shows, for the print header and the CSV block
    headers: list[str]
    rows: list[list[Cell]]
    totals: list[Cell] | None = None
    widths: list[int] = field(default_factory=list)


def month_label(month: str) -> str:
    """«2025-03» → «март 2025»."""
    year, number = month.split("-")
    return f"{MONTHS[int(number) - 1]} {year}"


def _direction_title(code: Any) -> str:
    direction = Direction.from_code(str(code)) if code is not None else None
    return direction.title if direction else str(code)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _catalogue(data: Any) -> Table | None:
    """Accepts the catalogue's {"directions": [{"direction", "programs", "ovz_programs"}, ...]},
    {"by_direction": {code: n}, "ovz": {code: n} | n} or a flat {code: n, "ovz": n}."""
    if not isinstance(data, dict):
        return None
    listed = data.get("directions")
    if isinstance(listed, list) and all(isinstance(r, dict) and "direction" in r for r in listed):
        data = {
            "by_direction": {str(r["direction"]): r.get("programs") for r in listed},
            "ovz": {str(r["direction"]): r.get("ovz_programs", 0) for r in listed},
        }
    by_direction = data.get("by_direction", data.get("directions"))
    if not isinstance(by_direction, dict):
        by_direction = {k: v for k, v in data.items() if Direction.from_code(str(k)) is not None}
    ovz = data.get("ovz")
    rows: list[list[Cell]] = []
    for code, count in by_direction.items():
        n = _int(count)
        if n is None:
            return None
        ovz_n = _int(ovz.get(code, 0)) if isinstance(ovz, dict) else None
        rows.append([_direction_title(code), n, ovz_n])
    if not rows:
        return None
    ovz_total = sum(int(r[2] or 0) for r in rows) if isinstance(ovz, dict) else _int(ovz)
    return Table(
        "Каталог",
        "Программы в каталоге по направленностям",
        ["Направленность", "Программ", "Из них для детей с ОВЗ"],
        rows,
        ["Итого", sum(int(r[1] or 0) for r in rows), ovz_total],
        [34, 12, 24],
    )


def _faq_unanswered(data: Any) -> Table | None:
    if not isinstance(data, list):
        return None
    rows: list[list[Cell]] = []
    for item in data:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("text"), str)
            or _int(item.get("count")) is None
        ):
            return None
        rows.append([item["text"], _int(item["count"])])
    return Table(
        "Вопросы без ответа",
        "Вопросы, на которые бот не смог ответить (для пополнения FAQ)",
        ["Вопрос", "Сколько раз"],
        rows,
        ["Итого", sum(int(r[1] or 0) for r in rows)],
        [80, 14],
    )


def _open_days(data: Any) -> Table | None:
    if not isinstance(data, list):
        return None
    rows: list[list[Cell]] = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("title"), str):
            return None
        signups = _int(item.get("signups"))
        raw_date = item.get("date")
        shown = raw_date
        if isinstance(raw_date, str):
            try:
                shown = date.fromisoformat(raw_date[:10]).strftime("%d.%m.%Y")
            except ValueError:
                shown = raw_date
        rows.append([item["title"], shown if isinstance(shown, str) else None, signups])
    return Table(
        "Дни открытых дверей",
        "Дни открытых дверей и записи на них",
        ["Мероприятие", "Дата", "Записались"],
        rows,
        ["Итого", None, sum(int(r[2] or 0) for r in rows)],
        [60, 12, 14],
    )


SOURCE_TABLES = {"catalogue": _catalogue, "faq_unanswered": _faq_unanswered, "open_days": _open_days}


def source_table(name: str, data: Any) -> Table | None:
    builder = SOURCE_TABLES.get(name)
    if builder is None:
        return None
    table = builder(data)
    if table is None:
        logger.warning("report source %r returned data of an unexpected shape; not shown", name)
    return table


def build_tables(report: dict[str, Any]) -> list[Table]:
    tables: list[Table] = []
    outreach = report["outreach"]
    tables.append(
        Table(
            "Охват",
            "Мероприятия МОЦ и охват по категориям участников",
            ["Категория участников", "Мероприятий", "Охват, человек"],
            [[t.label, outreach[t.code]["events"], outreach[t.code]["reached"]] for t in vocab.AUDIENCES],
            ["Итого", outreach["total"]["events"], outreach["total"]["reached"]],
            [28, 14, 16],
        )
    )
    by_kind = report["by_kind"]
    tables.append(
        Table(
            "По видам",
            "Мероприятия по видам",
            ["Вид мероприятия", "Мероприятий", "Охват, человек"],
            [[k["title"], k["events"], k["reached"]] for k in by_kind],
            ["Итого", sum(k["events"] for k in by_kind), sum(k["reached"] for k in by_kind)],
            [34, 14, 16],
        )
    )
    months = report["by_month"]
    codes = [t.code for t in vocab.AUDIENCES]
    tables.append(
        Table(
            "По месяцам",
            "Охват по месяцам и категориям участников, человек",
            ["Месяц", *[t.label for t in vocab.AUDIENCES], "Всего человек", "Мероприятий"],
            [[month_label(m["month"]), *[m[c] for c in codes], m["reached"], m["events"]] for m in months],
            [
                "Итого",
                *[sum(m[c] for m in months) for c in codes],
                sum(m["reached"] for m in months),
                sum(m["events"] for m in months),
            ],
            [16, 12, 14, 12, 10, 14, 13],
        )
    )
    if "activities" in report:
        activities = report["activities"]
        tables.append(
            Table(
                "Мероприятия",
                "Перечень мероприятий",
                [
                    "Дата",
                    "Название",
                    "Вид",
                    "Категория",
                    "Охват",
                    "Организация",
                    "Направленность",
                    "Формат",
                    "Муниципалитет",
                ],
                [
                    [
                        date.fromisoformat(a["date"]).strftime("%d.%m.%Y"),
                        a["title"],
                        vocab.KIND_BY_CODE[a["kind"]].label if a["kind"] in vocab.KIND_BY_CODE else a["kind"],
                        vocab.AUDIENCE_BY_CODE[a["audience"]].label
                        if a["audience"] in vocab.AUDIENCE_BY_CODE
                        else a["audience"],
                        a["reached"],
                        a["organisation"],
                        ", ".join(_direction_title(c) for c in a["directions"]) or None,
                        vocab.FORMAT_BY_CODE[a["format"]].label
                        if a["format"] in vocab.FORMAT_BY_CODE
                        else None,
                        a["municipality"],
                    ]
                    for a in activities
                ],
                [f"Итого: {len(activities)}", None, None, None, sum(a["reached"] for a in activities)],
                [11, 50, 24, 13, 9, 30, 28, 9, 14],
            )
        )
    bot = report["bot"]
    c = bot["consultations"]
    h = bot["handoffs"]
    s = bot["search"]
    b = bot["broadcasts"]
    e = bot["event_signups"]
    share = c["share_without_staff"]
    median = h["median_answer_seconds"]
    tables.append(
        Table(
            "Работа бота",
            "Работа чат-бота",
            ["Показатель", "Значение"],
            [
                ["Вопросов родителей (без приветствий и благодарностей)", c["questions"]],
                ["Человек писали боту", c["people"]],
                ["Бот ответил сам", c["answered"]],
                ["Бот предложил подходящие ответы", c["suggested"]],
                ["Бот не нашёл ответа", c["fallback"]],
                [
                    "Доля вопросов без участия специалиста, %",
                    None if share is None else round(100 * share, 1),
                ],
                ["Вопросов передано специалистам", h["created"]],
                ["Человек обратились к специалисту", h["people"]],
                ["Ответов специалистов", h["answered"]],
                [
                    "Медианное время ответа специалиста, мин",
                    None if median is None else round(median / 60, 1),
                ],
                ["Поисков кружков и секций", s["searches"]],
                ["Человек искали кружки", s["people"]],
                ["Поисков без результата", s["no_results"]],
                ["Рассылок", b["count"]],
                ["Охват рассылок, сообщений доставлено", b["reached"]],
                ["Записей на мероприятия", e["signups"]],
                ["Человек записались", e["people"]],
                ["Отмен записи", e["cancelled"]],
                ["Подписались на новости", bot["subscriptions"]["subscribed"]],
                ["Отписались от новостей", bot["subscriptions"]["unsubscribed"]],
            ],
            None,
            [56, 14],
        )
    )
    tables.append(
        Table(
            "Действия бота",
            "Все действия бота по видам (события и разные люди)",
            ["Вид действия", "Событий", "Человек"],
            [[kind, v["events"], v["people"]] for kind, v in bot["by_kind"].items()],
            ["Итого", sum(v["events"] for v in bot["by_kind"].values()), None],
            [30, 12, 12],
        )
    )
    tables.append(
        Table(
            "Темы вопросов",
            "10 самых частых тем вопросов",
            ["Тема (раздел FAQ)", "Вопросов"],
            [[t["topic"], t["questions"]] for t in bot["top_topics"]],
            None,
            [40, 12],
        )
    )
    tables.append(
        Table(
            "Поиск по направленностям",
            "Спрос на кружки по направленностям",
            ["Направленность", "Запросов", "Из них без результата"],
            [[d["title"], d["searches"], d["no_results"]] for d in s["by_direction"]],
            ["Итого", sum(d["searches"] for d in s["by_direction"]), s["no_results"]],
            [34, 12, 22],
        )
    )
    tables.append(
        Table(
            "Поиск по возрасту",
            "Спрос на кружки по возрасту ребёнка",
            ["Возраст, лет", "Запросов"],
            [["не указан" if a["age"] is None else a["age"], a["searches"]] for a in s["by_age"]],
            ["Итого", sum(a["searches"] for a in s["by_age"])],
            [14, 12],
        )
    )
    tables.append(
        Table(
            "Рассылки",
            "Рассылки подписчикам",
            ["Рассылка", "Отправлена (UTC)", "Доставлено"],
            [[i["ref"], (i["sent_at"] or "")[:16].replace("T", " "), i["reached"]] for i in b["items"]],
            ["Итого", None, b["reached"]],
            [20, 18, 12],
        )
    )
    tables.append(
        Table(
            "Записи на мероприятия",
            "Записи на мероприятия через бот",
            ["Мероприятие", "Записей", "Человек", "Отмен"],
            [[i["title"] or i["ref"], i["signups"], i["people"], i["cancelled"]] for i in e["by_event"]],
            ["Итого", e["signups"], e["people"], e["cancelled"]],
            [50, 10, 10, 10],
        )
    )
    for name, data in report.get("sources", {}).items():
        table = source_table(name, data)
        if table is None:
            continue
        if name == "catalogue" and not (table.totals and table.totals[1]):
            continue  # no catalogue loaded: an all-zero sheet says nothing
        tables.append(table)
    return tables
