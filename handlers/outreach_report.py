"""/report: staff get the period's paragraph, the XLSX tables and the chart.

The figures are read and the files rendered by `ReportService` (no unit of work is open
while they render or while they are sent). Words: content/texts/report.yaml.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.content import ContentStore
from bot.html import escape, split_text, strip_tags
from bot.middlewares import RoleGuard
from bot.services.outreach.errors import OutreachError
from bot.services.outreach.periods import (
    Period,
    academic_year,
    calendar_year,
    current_academic_start,
    parse_period_text,
    today,
)
from bot.services.outreach.service import ReportService, find_municipality
from bot.services.roles import Role
from bot.services.users import UserRecord as User
from bot.settings import Settings
from bot.views import outreach as ui
from bot.views.staff import Say

router = Router(name=__name__)
router.message.middleware(RoleGuard(Role.STAFF))
router.callback_query.middleware(RoleGuard(Role.STAFF))


def _scope(user: User, role: Role, content: ContentStore, explicit: str | None) -> str | None:
    """Whose figures: the named municipality; else a staff member's own one; an admin sees the region."""
    c = content.current
    if explicit is not None:
        return explicit
    if c.single_municipality:
        return None
    if role < Role.ADMIN and user.municipality_id in c.municipalities:
        return user.municipality_id
    return None


def _split_municipality(args: str, content: ContentStore) -> tuple[str, str | None]:
    parts = args.split()
    if len(parts) >= 2 and not parts[-1][0].isdigit():
        return " ".join(parts[:-1]), find_municipality(content.current, parts[-1])
    return args, None


@router.message(Command("report"))
async def cmd_report(
    message: Message,
    *,
    command: CommandObject,
    outreach_report: ReportService,
    settings: Settings,
    content: ContentStore,
    user: User,
    role: Role,
) -> None:
    args = (command.args or "").strip()
    tz = settings.tz
    if not args:
        now = today(tz)
        academic = current_academic_start(tz)
        periods = [calendar_year(now.year, tz), calendar_year(now.year - 1, tz),
                   academic_year(academic, tz), academic_year(academic - 1, tz)]  # fmt: skip
        c = content.current
        text = c.text(
            "report.ask_period", user.municipality_id, usage=c.text("report.usage", user.municipality_id)
        )
        await message.answer(text, reply_markup=ui.period_keyboard(periods))
        return
    try:
        period_text, municipality = _split_municipality(args, content)
        period = parse_period_text(period_text, tz)
    except OutreachError as exc:
        await message.answer(Say(content.current, user.municipality_id).refusal(exc))
        return
    await _send_report(
        message,
        period,
        outreach_report=outreach_report,
        content=content,
        municipality_id=_scope(user, role, content, municipality),
    )


@router.callback_query(ui.ReportCD.filter())
async def on_period(
    query: CallbackQuery,
    *,
    callback_data: ui.ReportCD,
    outreach_report: ReportService,
    settings: Settings,
    content: ContentStore,
    user: User,
    role: Role,
) -> None:
    try:
        if callback_data.kind == "year":
            period = calendar_year(callback_data.year, settings.tz)
        elif callback_data.kind == "academic":
            period = academic_year(callback_data.year, settings.tz)
        else:
            raise OutreachError("outreach.bad_period_button", "bad period kind")
    except OutreachError as exc:
        await query.answer(
            strip_tags(Say(content.current, user.municipality_id).refusal(exc)), show_alert=True
        )
        return
    await query.answer(content.current.text("report.preparing"))
    if isinstance(query.message, Message):
        await _send_report(
            query.message,
            period,
            outreach_report=outreach_report,
            content=content,
            municipality_id=_scope(user, role, content, None),
        )


async def _send_report(
    message: Message,
    period: Period,
    *,
    outreach_report: ReportService,
    content: ContentStore,
    municipality_id: str | None,
) -> None:
    c = content.current
    place = c.municipalities[municipality_id].name if municipality_id else None
    files = await outreach_report.files(period, municipality_id, place, content=c)
    label = escape(period.label)
    head = c.text(
        "report.head", municipality_id, period=label, place=escape(place or c.text("report.region"))
    )
    for part in split_text(head + "\n\n" + escape(files.paragraph)):
        await message.answer(part)
    name = f"otchet-moc-{period.slug}"
    total = files.report.outreach.total
    await message.answer_document(
        BufferedInputFile(files.xlsx, filename=f"{name}.xlsx"),
        caption=c.text("report.xlsx_caption", municipality_id, period=label, events=total.events),
    )
    await message.answer_photo(
        BufferedInputFile(files.png, filename=f"{name}.png"),
        caption=c.text("report.png_caption", municipality_id, period=label),
    )
