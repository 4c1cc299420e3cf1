"""The report as titled tables: one source for the XLSX sheets and the CSV blocks.

Known report sources (catalogue, unanswered questions, open days) get tables of
their own when present and well-formed (`Report.sections`); unknown ones stay in
the JSON only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.services.outreach import vocab
from bot.services.outreach.model import (
    CatalogueSection,
    OpenDaysSection,
    Report,
    UnansweredSection,
    direction_title,
)

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


def _catalogue(section: CatalogueSection) -> Table:
    return Table(
        "Каталог",
        "Программы в каталоге по направленностям",
        ["Направленность", "Программ", "Из них для детей с ОВЗ"],
        [[row.title, row.programs, row.ovz_programs] for row in section.rows],
        ["Итого", section.total, section.ovz_total],
        [34, 12, 24],
    )


def _faq_unanswered(section: UnansweredSection) -> Table:
    return Table(
        "Вопросы без ответа",
        "Вопросы, на которые бот не смог ответить (для пополнения FAQ)",
        ["Вопрос", "Сколько раз"],
        [[item.text, item.count] for item in section.items],
        ["Итого", sum(item.count for item in section.items)],
        [80, 14],
    )


def _shown_date(when: date | str | None) -> str | None:
    return when.strftime("%d.%m.%Y") if isinstance(when, date) else when


def _open_days(section: OpenDaysSection) -> Table:
    return Table(
        "Дни открытых дверей",
        "Дни открытых дверей и записи на них",
        ["Мероприятие", "Дата", "Записались"],
        [[item.title, _shown_date(item.when), item.signups] for item in section.items],
        ["Итого", None, sum(item.signups or 0 for item in section.items)],
        [60, 12, 14],
    )


def _label(terms: dict[str, vocab.Term], code: str | None) -> str | None:
    if code is None:
        return None
    term = terms.get(code)
    return term.label if term else code


def build_tables(report: Report) -> list[Table]:
    tables: list[Table] = []
    outreach = report.outreach
    tables.append(
        Table(
            "Охват",
            "Мероприятия МОЦ и охват по категориям участников",
            ["Категория участников", "Мероприятий", "Охват, человек"],
            [[t.label, outreach.of(t.code).events, outreach.of(t.code).reached] for t in vocab.AUDIENCES],
            ["Итого", outreach.total.events, outreach.total.reached],
            [28, 14, 16],
        )
    )
    by_kind = report.by_kind
    tables.append(
        Table(
            "По видам",
            "Мероприятия по видам",
            ["Вид мероприятия", "Мероприятий", "Охват, человек"],
            [[k.title, k.events, k.reached] for k in by_kind],
            ["Итого", sum(k.events for k in by_kind), sum(k.reached for k in by_kind)],
            [34, 14, 16],
        )
    )
    months = report.by_month
    codes = [t.code for t in vocab.AUDIENCES]
    tables.append(
        Table(
            "По месяцам",
            "Охват по месяцам и категориям участников, человек",
            ["Месяц", *[t.label for t in vocab.AUDIENCES], "Всего человек", "Мероприятий"],
            [[month_label(m.key), *[m.reached_by(c) for c in codes], m.reached, m.events] for m in months],
            [
                "Итого",
                *[sum(m.reached_by(c) for m in months) for c in codes],
                sum(m.reached for m in months),
                sum(m.events for m in months),
            ],
            [16, 12, 14, 12, 10, 14, 13],
        )
    )
    if report.activities is not None:
        activities = report.activities
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
                        a.held_on.strftime("%d.%m.%Y"),
                        a.title,
                        _label(vocab.KIND_BY_CODE, a.kind),
                        _label(vocab.AUDIENCE_BY_CODE, a.audience),
                        a.reached,
                        a.organisation,
                        ", ".join(direction_title(c) for c in a.directions) or None,
                        vocab.FORMAT_BY_CODE[a.format].label if a.format in vocab.FORMAT_BY_CODE else None,
                        a.municipality_id,
                    ]
                    for a in activities
                ],
                [f"Итого: {len(activities)}", None, None, None, sum(a.reached for a in activities)],
                [11, 50, 24, 13, 9, 30, 28, 9, 14],
            )
        )
    bot = report.bot
    c = bot.consultations
    h = bot.handoffs
    s = bot.search
    b = bot.broadcasts
    e = bot.event_signups
    share = c.share_without_staff
    median = h.median_answer_seconds
    tables.append(
        Table(
            "Работа бота",
            "Работа чат-бота",
            ["Показатель", "Значение"],
            [
                ["Вопросов родителей (без приветствий и благодарностей)", c.questions],
                ["Человек писали боту", c.people],
                ["Бот ответил сам", c.answered],
                ["Бот предложил подходящие ответы", c.suggested],
                ["Бот не нашёл ответа", c.fallback],
                [
                    "Доля вопросов без участия специалиста, %",
                    None if share is None else round(100 * share, 1),
                ],
                ["Вопросов передано специалистам", h.created],
                ["Человек обратились к специалисту", h.people],
                ["Ответов специалистов", h.answered],
                [
                    "Медианное время ответа специалиста, мин",
                    None if median is None else round(median / 60, 1),
                ],
                ["Поисков кружков и секций", s.searches],
                ["Человек искали кружки", s.people],
                ["Поисков без результата", s.no_results],
                ["Рассылок", b.count],
                ["Охват рассылок, сообщений доставлено", b.reached],
                ["Записей на мероприятия", e.signups],
                ["Человек записались", e.people],
                ["Отмен записи", e.cancelled],
                ["Подписались на новости", bot.subscriptions.subscribed],
                ["Отписались от новостей", bot.subscriptions.unsubscribed],
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
            [[k.kind, k.events, k.people] for k in bot.by_kind],
            ["Итого", sum(k.events for k in bot.by_kind), None],
            [30, 12, 12],
        )
    )
    tables.append(
        Table(
            "Темы вопросов",
            "10 самых частых тем вопросов",
            ["Тема (раздел FAQ)", "Вопросов"],
            [[t.topic, t.questions] for t in bot.top_topics],
            None,
            [40, 12],
        )
    )
    tables.append(
        Table(
            "Поиск по направленностям",
            "Спрос на кружки по направленностям",
            ["Направленность", "Запросов", "Из них без результата"],
            [[d.title, d.searches, d.no_results] for d in s.by_direction],
            ["Итого", sum(d.searches for d in s.by_direction), s.no_results],
            [34, 12, 22],
        )
    )
    tables.append(
        Table(
            "Поиск по возрасту",
            "Спрос на кружки по возрасту ребёнка",
            ["Возраст, лет", "Запросов"],
            [["не указан" if a.age is None else a.age, a.searches] for a in s.by_age],
            ["Итого", sum(a.searches for a in s.by_age)],
            [14, 12],
        )
    )
    tables.append(
        Table(
            "Рассылки",
            "Рассылки подписчикам",
            ["Рассылка", "Отправлена (UTC)", "Доставлено"],
            [
                [i.ref, i.sent_at.isoformat()[:16].replace("T", " ") if i.sent_at else "", i.reached]
                for i in b.items
            ],
            ["Итого", None, b.reached],
            [20, 18, 12],
        )
    )
    tables.append(
        Table(
            "Записи на мероприятия",
            "Записи на мероприятия через бот",
            ["Мероприятие", "Записей", "Человек", "Отмен"],
            [[i.title or i.ref, i.signups, i.people, i.cancelled] for i in e.by_event],
            ["Итого", e.signups, e.people, e.cancelled],
            [50, 10, 10, 10],
        )
    )
    sections = report.sections
    if sections.catalogue is not None and sections.catalogue.total:
        tables.append(_catalogue(sections.catalogue))  # an all-zero sheet (no catalogue loaded) says nothing
    if sections.faq_unanswered is not None:
        tables.append(_faq_unanswered(sections.faq_unanswered))
    if sections.open_days is not None:
        tables.append(_open_days(sections.open_days))
    return tables
