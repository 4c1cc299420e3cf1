"""The FAQ knowledge base under `content/faq/`: loading and validation.

Format: see content/faq/README.md. Every problem is reported with the file, the
entry id and the reason; the bot refuses to start on invalid content and a
failed /reload keeps the previous knowledge base live.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    field_validator,
)

from bot.content import (
    CHOICES,
    Content,
    ContentError,
    ContentProblem,
    read_yaml,
    render,
    template_problems,
)
from bot.html import html_errors, strip_tags, visible_length

FAQ_DIR = "faq"
ANSWER_LIMIT = 1200  # characters after rendering, for every municipality
TITLE_LIMIT = 60
QUESTION_LIMIT = 200

# The ids the product requires (issue: parent FAQ); each must exist.
REQUIRED_IDS: tuple[str, ...] = (
    "certificate-what", "certificate-types", "certificate-how-to-get", "certificate-docs",
    "certificate-confirm", "certificate-number-recover", "certificate-balance",
    "certificate-nominal-reset", "certificate-funds-out", "certificate-expired", "certificate-cancel",
    "certificate-use", "age-limits", "teen-14", "navigator-what", "navigator-register",
    "navigator-login", "navigator-add-child", "navigator-edit-child", "navigator-interface",
    "program-search", "navigator-apply", "application-status", "gosuslugi", "contract",
    "leave-program", "paid-programs", "multiple-programs", "registries", "quality-assessment", "ovz",
    "duplicate-account", "moc-contacts", "coercion-complaints", "relocation",
)  # fmt: skip
MIN_QUESTIONS_REQUIRED = 10
MIN_QUESTIONS = 6


class Link(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=60)
    url: str = Field(min_length=1)


SOURCE_LIMIT = 300


class SourceLink(BaseModel):
    """A source with an address staff can open: `{title: …, url: https://…}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=3, max_length=SOURCE_LIMIT)
    url: str

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https://")
        return value


SourceText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=SOURCE_LIMIT)]


def _source_kind(value: object) -> str:
    return "link" if isinstance(value, dict | SourceLink) else "text"


# A short text, or {title, url}; errors name the kind: «sources.0.link.url: …».
Source = Annotated[
    Annotated[SourceText, Tag("text")] | Annotated[SourceLink, Tag("link")], Discriminator(_source_kind)
]


class FaqEntry(BaseModel):
    """One answer of the knowledge base."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]{1,48}$")
    title: str = Field(min_length=1, max_length=TITLE_LIMIT)
    # A required topic this entry answers a part of (the topic was split for parents).
    topic: str | None = None
    # How the bot names this entry when it asks back: «Вы спрашиваете, как получить
    # сертификат или как оплатить им кружок?» (plain words, lower case; default: the title).
    ask_as: str | None = Field(default=None, min_length=3, max_length=TITLE_LIMIT)
    questions: tuple[str, ...] = Field(min_length=1)
    keywords: tuple[str, ...] = ()
    answer: str = Field(min_length=1)
    tags: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    # What the answer rests on (a law, a regional rule, the Navigator's help page) and the
    # day a methodist last checked it against them; required for the product's topics.
    sources: tuple[Source, ...] = ()
    reviewed: date | None = None

    @field_validator("reviewed", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        if value is not None and not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
            raise ValueError("write the date as YYYY-MM-DD")
        return value

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for q in value:
            if not q.strip():
                raise ValueError("empty phrasing")
            if len(q) > QUESTION_LIMIT:
                raise ValueError(f"phrasing longer than {QUESTION_LIMIT} characters: {q[:40]!r}…")
        return tuple(q.strip() for q in value)

    def render_answer(self, values: dict[str, str]) -> str:
        return render(self.answer.strip(), values)

    def render_links(self, values: dict[str, str]) -> list[tuple[str, str]]:
        return [(link.title, render(link.url, values)) for link in self.links]

    @property
    def asked_as(self) -> str:
        """The entry in a question back: its `ask_as`, or the title with a small first letter."""
        if self.ask_as:
            return self.ask_as.strip()
        title = self.title.strip()
        return title[:1].lower() + title[1:] if title[1:2].islower() else title


class Redirect(BaseModel):
    """A neighbouring service (`outside:` in content): questions about it get a short answer
    saying where to go instead of a certificate answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]{1,48}$")
    title: str = Field(min_length=1, max_length=TITLE_LIMIT)
    answer: str = Field(min_length=1)
    # words or short phrases (up to four words) that name this service: a question with one
    # is never answered from the entries («детский сад», «маткапитал», «пособие»)
    words: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()  # what parents ask about it, as they write it
    links: tuple[Link, ...] = ()

    def render_answer(self, values: dict[str, str]) -> str:
        return render(self.answer.strip(), values)

    def render_links(self, values: dict[str, str]) -> list[tuple[str, str]]:
        return [(link.title, render(link.url, values)) for link in self.links]


class Clarify(BaseModel):
    """A general question about one subject is asked back: «что делать с сертификатом?»
    has the subject («сертификат») and otherwise only vague words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]{1,48}$")
    words: tuple[str, ...] = Field(min_length=1)  # the subject
    companions: tuple[str, ...] = ()  # words that may come with it and keep the question general
    question: str = Field(min_length=3, max_length=200)  # what the bot asks
    options: tuple[str, ...] = Field(min_length=2, max_length=4)  # entry ids offered


@dataclass(frozen=True)
class KnowledgeBase:
    """All entries, in file order, with lookup by id; the `outside` phrasings without a
    category and the `redirects` (neighbouring services): questions that are not this bot's
    business (they teach the matcher where its topics end); the `clarify` groups."""

    entries: tuple[FaqEntry, ...]
    outside: tuple[str, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    clarify: tuple[Clarify, ...] = ()
    checked_with: tuple[str, ...] = ()  # labels of the RenderChecks every answer passed
    # entry id -> its group: the file it is written in, without `.yaml` («certificate»)
    group_of: dict[str, str] = field(default_factory=dict)

    def groups(self) -> list[tuple[str, list[FaqEntry]]]:
        """The groups in file order, each with its entries in file order."""
        out: dict[str, list[FaqEntry]] = {}
        for entry in self.entries:
            out.setdefault(self.group_of.get(entry.id, "other"), []).append(entry)
        return list(out.items())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {e.id: e for e in self.entries})

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[FaqEntry]:
        return iter(self.entries)

    def summary(self) -> str:
        """For `mocbot content check`: how many entries and what they were rendered for."""
        shipped = sum(label.startswith("municipality ") for label in self.checked_with)
        others = len(self.checked_with) - shipped
        return (
            f"{len(self)} (every answer rendered for {shipped} municipalities "
            f"and {others} other combinations of settings)"
        )

    def get(self, entry_id: str) -> FaqEntry | None:
        by_id: dict[str, FaqEntry] = object.__getattribute__(self, "_by_id")
        return by_id.get(entry_id)

    def redirect(self, redirect_id: str | None) -> Redirect | None:
        return next((r for r in self.redirects if r.id == redirect_id), None)

    def clarify_group(self, group_id: str | None) -> Clarify | None:
        return next((c for c in self.clarify if c.id == group_id), None)


def _check_template(text: str, where: str) -> list[str]:
    return [f"{where}: {reason}" for reason in template_problems(text)]


# Words that speak of money. None may appear in an answer or a title shown where the
# номинал is counted in hours: there it is hours of classes, not a sum (issue 13).
# «Оплата сертификатом» stays: it is the Navigator's own label in both kinds of regions.
MONEY_WORDS = re.compile(
    r"\bруб(?:л\w*|\.|\b)"  # руб., рубль, рублей
    r"|₽"
    r"|\bден(?:ьг|ег|еж)\w*"  # деньги, денег, денежный
    r"|\bсумм\w*"  # сумма, суммы
    r"|\bсредств\w*\s+сертификат\w*"  # средства сертификата
    r"|\b(?:дороже|дешевле)\s+(?:номинал|остат)\w*"  # дороже номинала, дешевле остатка
    r"|\bопла[тч]\w*\s+номинал\w*"  # оплатить номиналом, оплачивается номиналом
    r"|\bноминал\w*\s+опла[тч]\w*",  # номиналом оплачиваются
    re.IGNORECASE,
)
# Values for the setting combinations no shipped municipality has (so both variants of
# every choice are checked): a номинал of each unit and enrolment periods.
_SAMPLE_NOMINAL = {"money": "10 000,00 руб. в календарный год", "hours": "144 часа в календарный год"}
_SAMPLE_ENROLLMENT = "основной набор — с 20 августа по 30 сентября, дополнительный — с 10 по 31 января"


def money_words(text: str) -> list[str]:
    """The money words in a Telegram HTML text, in order of appearance (empty when none)."""
    return list(dict.fromkeys(m.group(0) for m in MONEY_WORDS.finditer(strip_tags(text))))


@dataclass(frozen=True)
class RenderCheck:
    """Placeholder values an answer is rendered with before it is accepted."""

    label: str  # «municipality zima», or the settings of a combination no municipality has
    values: dict[str, str]

    @property
    def hours(self) -> bool:
        return self.values["unit"] == "hours"


def render_checks(content: Content) -> list[RenderCheck]:
    """Every shipped municipality, then each other combination of the CHOICES settings
    (with the first municipality's other values), so every variant of every choice is seen."""
    checks = [RenderCheck(f"municipality {m.id}", m.placeholders()) for m in content.municipalities.values()]
    seen = {tuple(check.values[name] for name in CHOICES) for check in checks}
    base_id, base = checks[0].label.split()[-1], checks[0].values
    for combination in itertools.product(*CHOICES.values()):
        if combination in seen:
            continue
        values = {**base, **dict(zip(CHOICES, combination, strict=True))}
        if values["unit"] != base["unit"]:
            values["certificate_nominal"] = _SAMPLE_NOMINAL[values["unit"]]
        if values["enrollment"] == "set" and not values["enrollment_periods"]:
            values["enrollment_periods"] = _SAMPLE_ENROLLMENT
        settings = ", ".join(f"{name}={value}" for name, value in zip(CHOICES, combination, strict=True))
        checks.append(RenderCheck(f"settings {settings} (other values of {base_id})", values))
    return checks


def _basis_problems(entry: FaqEntry, today: date | None = None) -> list[str]:
    """`sources` and `reviewed`: both required for the product's topics, both or neither
    elsewhere; sources distinct and without placeholders; the date not in the future."""
    problems: list[str] = []
    required = entry.id in REQUIRED_IDS or entry.topic in REQUIRED_IDS
    if required and not entry.sources:
        problems.append(
            "sources: required for this topic: name what the answer rests on "
            "(a law, a regional rule, the Navigator's help page)"
        )
    if (required or entry.sources) and entry.reviewed is None:
        problems.append(
            "reviewed: required with sources: the day (YYYY-MM-DD) the answer was checked against them"
        )
    if entry.reviewed is not None and not entry.sources and not required:
        problems.append("sources: a reviewed date needs the sources the answer was checked against")
    titles = [source if isinstance(source, str) else source.title for source in entry.sources]
    for title in titles:
        if "{" in title or "}" in title:
            problems.append(f"sources: placeholders are not allowed: {title[:40]!r}")
    if len(set(titles)) != len(titles):
        problems.append("sources: the same source twice")
    if entry.reviewed is not None and entry.reviewed > (today or date.today()):
        problems.append(f"reviewed: {entry.reviewed.isoformat()} is in the future")
    return problems


def validate_entry(
    entry: FaqEntry, content: Content, checks: list[RenderCheck] | None = None, today: date | None = None
) -> list[str]:
    """Reasons this entry is not acceptable: placeholders, and, rendered for every
    municipality and setting combination, Telegram HTML, length, money words for hours."""
    reasons: list[str] = []
    if "{" in entry.title or "}" in entry.title:
        reasons.append("title: placeholders are not allowed in titles")
    if entry.ask_as and ("{" in entry.ask_as or "}" in entry.ask_as):
        reasons.append("ask_as: placeholders are not allowed")
    for q in entry.questions:
        if "{" in q or "}" in q:
            reasons.append(f"questions: braces are not allowed: {q[:40]!r}")
    minimum = MIN_QUESTIONS_REQUIRED if entry.id in REQUIRED_IDS else MIN_QUESTIONS
    if len(entry.questions) < minimum:
        reasons.append(f"questions: at least {minimum} phrasings needed, found {len(entry.questions)}")
    reasons.extend(_basis_problems(entry, today))
    reasons.extend(_answer_problems(entry, content, checks))
    return reasons


def _answer_problems(
    item: FaqEntry | Redirect, content: Content, checks: list[RenderCheck] | None = None, money: bool = True
) -> list[str]:
    """Placeholders, then, rendered for every municipality and setting combination: Telegram
    HTML, length, and (`money`) money words where the номинал is in hours — a redirect to
    another service (benefits, maternity capital) may speak of money: it is not the номинал."""
    reasons = _check_template(item.answer, "answer")
    for link in item.links:
        reasons += _check_template(link.url, f"links: {link.title}")
    if reasons:
        return reasons
    found: dict[str, str] = {}  # one reason of each kind, from the first render that shows it
    seen: set[tuple[str, bool]] = set()  # most renders repeat: check each text once
    for check in checks if checks is not None else render_checks(content):
        try:
            rendered = item.render_answer(check.values)
        except (KeyError, ValueError) as exc:
            found.setdefault("render", f"answer: cannot be rendered for {check.label}: {exc!r}")
            continue
        for title, url in item.render_links(check.values):
            if not url.startswith(("https://", "http://", "tg://")):
                found.setdefault(f"link {title}", f"links: {title}: url must start with https://")
        if (rendered, check.hours) in seen:
            continue
        seen.add((rendered, check.hours))
        errors = html_errors(rendered)
        if errors:
            found.setdefault("html", "; ".join(f"answer: {e}" for e in errors))
        if visible_length(rendered) > ANSWER_LIMIT:
            found.setdefault(
                "length",
                f"answer: {visible_length(rendered)} characters for {check.label} (at most {ANSWER_LIMIT})",
            )
        if money and check.hours:
            ask_as = item.ask_as if isinstance(item, FaqEntry) else None
            for where, text in (("title", item.title), ("ask_as", ask_as or ""), ("answer", rendered)):
                words = money_words(text)
                if words:
                    found.setdefault(
                        f"money {where}",
                        f"{where}: money words {words} where the номинал is in hours ({check.label}); "
                        "say it without money or use {unit:…|…}",
                    )
    return list(found.values())


def validate_redirect(redirect: Redirect, content: Content) -> list[str]:
    """Reasons this redirect (a neighbouring service) is not acceptable."""
    reasons: list[str] = []
    if "{" in redirect.title or "}" in redirect.title:
        reasons.append("title: placeholders are not allowed in titles")
    if not redirect.words and not redirect.questions:
        reasons.append("needs words or questions that tell the matcher when it applies")
    for q in (*redirect.words, *redirect.questions):
        reason = _outside_problem(q)
        if reason is None and ("{" in q or "}" in q):
            reason = "braces are not allowed"
        if reason is not None:
            reasons.append(f"{q[:40]!r}: {reason}")
    for word in redirect.words:
        if len(word.split()) > 4:
            reasons.append(f"words: {word[:40]!r}: at most four words (longer ones go to questions)")
    reasons.extend(_answer_problems(redirect, content, money=False))
    return reasons


def load_knowledge_base(directory: Path, content: Content) -> KnowledgeBase:
    """The `content.register_section` loader: parse and validate content/faq/*.yaml."""
    folder = directory / FAQ_DIR
    problems: list[ContentProblem] = []
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise ContentError([ContentProblem(f"{FAQ_DIR}/", "-", "no FAQ files (*.yaml) found")])
    checks = render_checks(content)
    entries: list[FaqEntry] = []
    where: dict[str, str] = {}
    group_of: dict[str, str] = {}
    phrasings: dict[str, str] = {}
    failed: set[str] = set()
    outside: list[str] = []
    outside_keys: set[str] = set()
    redirects: list[Redirect] = []
    redirect_where: dict[str, str] = {}
    groups: list[tuple[str, Clarify]] = []

    def outside_line(rel: str, name: str, raw: object) -> None:
        """A phrasing that is not ours, seen once across all files."""
        key = " ".join(str(raw).lower().replace("ё", "е").split())
        if key in outside_keys:
            problems.append(ContentProblem(rel, name, f"{str(raw)[:40]!r}: the same phrasing twice"))
        outside_keys.add(key)

    for path in files:
        rel = str(path.relative_to(directory))
        data = read_yaml(path, directory)
        if not isinstance(data, dict) or not any(
            isinstance(data.get(key), list) for key in ("entries", "outside", "clarify")
        ):
            problems.append(
                ContentProblem(rel, "-", "must contain a list 'entries' (or 'outside', 'clarify')")
            )
            continue
        for index, raw in enumerate(data.get("outside") or [], start=1):
            if isinstance(raw, dict):  # a neighbouring service with its answer
                name = str(raw.get("id", f"outside #{index}"))
                try:
                    redirect = Redirect.model_validate(raw)
                except ValidationError as exc:
                    for err in exc.errors():
                        loc = ".".join(str(p) for p in err["loc"]) or "-"
                        problems.append(ContentProblem(rel, name, f"{loc}: {err['msg']}"))
                    continue
                if redirect.id in redirect_where:
                    problems.append(
                        ContentProblem(
                            rel, redirect.id, f"duplicate id (also in {redirect_where[redirect.id]})"
                        )
                    )
                    continue
                redirect_where[redirect.id] = rel
                problems.extend(
                    ContentProblem(rel, redirect.id, r) for r in validate_redirect(redirect, content)
                )
                for q in redirect.questions:
                    outside_line(rel, redirect.id, q)
                redirects.append(redirect)
                continue
            reason = _outside_problem(raw)
            if reason is None:
                key = " ".join(str(raw).lower().replace("ё", "е").split())
                if key in outside_keys:
                    reason = "the same phrasing twice"
                outside_keys.add(key)
                outside.append(str(raw).strip())
            if reason is not None:
                problems.append(ContentProblem(rel, f"outside #{index}", reason))
        for index, raw in enumerate(data.get("clarify") or [], start=1):
            name = str(raw.get("id", f"clarify #{index}")) if isinstance(raw, dict) else f"clarify #{index}"
            try:
                groups.append((rel, Clarify.model_validate(raw)))
            except ValidationError as exc:
                for err in exc.errors():
                    loc = ".".join(str(p) for p in err["loc"]) or "-"
                    problems.append(ContentProblem(rel, name, f"{loc}: {err['msg']}"))
        for index, raw in enumerate(data.get("entries") or [], start=1):
            name = str(raw.get("id", f"#{index}")) if isinstance(raw, dict) else f"#{index}"
            try:
                entry = FaqEntry.model_validate(raw)
            except ValidationError as exc:
                failed.add(name)
                for err in exc.errors():
                    loc = ".".join(str(p) for p in err["loc"]) or "-"
                    problems.append(ContentProblem(rel, name, f"{loc}: {err['msg']}"))
                continue
            if entry.id in where:
                problems.append(ContentProblem(rel, entry.id, f"duplicate id (also in {where[entry.id]})"))
                continue
            where[entry.id] = rel
            group_of[entry.id] = Path(rel).stem
            for reason in validate_entry(entry, content, checks):
                problems.append(ContentProblem(rel, entry.id, reason))
            for q in entry.questions:
                key = " ".join(q.lower().replace("ё", "е").split())
                other = phrasings.setdefault(key, entry.id)
                if other != entry.id:
                    problems.append(
                        ContentProblem(rel, entry.id, f"questions: {q[:40]!r} is also a phrasing of {other}")
                    )
            entries.append(entry)
    for entry in entries:
        if entry.topic is not None and (entry.topic == entry.id or entry.topic not in where.keys() | failed):
            problems.append(ContentProblem(where[entry.id], entry.id, f"topic: unknown id {entry.topic!r}"))
        for rid in entry.related:
            if rid == entry.id:
                problems.append(ContentProblem(where[entry.id], entry.id, "related: refers to itself"))
            elif rid not in where and rid not in failed:
                problems.append(ContentProblem(where[entry.id], entry.id, f"related: unknown id {rid!r}"))
    for rid, rel in redirect_where.items():
        if rid in where:
            problems.append(ContentProblem(rel, rid, f"id is also an entry's id (in {where[rid]})"))
    seen_groups: set[str] = set()
    for rel, group in groups:
        if group.id in seen_groups:
            problems.append(ContentProblem(rel, group.id, "duplicate clarify id"))
        seen_groups.add(group.id)
        for option in group.options:
            if option not in where and option not in failed:
                problems.append(ContentProblem(rel, group.id, f"options: unknown id {option!r}"))
        if len(set(group.options)) != len(group.options):
            problems.append(ContentProblem(rel, group.id, "options: the same id twice"))
    for key in sorted(outside_keys & phrasings.keys()):
        problems.append(
            ContentProblem(f"{FAQ_DIR}/", phrasings[key], f"questions: {key[:40]!r} is also in 'outside'")
        )
    for rid in REQUIRED_IDS:
        if rid not in where and rid not in failed:
            problems.append(ContentProblem(f"{FAQ_DIR}/", rid, "required entry is missing"))
    if problems:
        raise ContentError(problems)
    return KnowledgeBase(
        tuple(entries),
        tuple(outside),
        redirects=tuple(redirects),
        clarify=tuple(g for _, g in groups),
        checked_with=tuple(check.label for check in checks),
        group_of=group_of,
    )


def _outside_problem(raw: object) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return "must be a non-empty text"
    if len(raw) > QUESTION_LIMIT:
        return f"{len(raw)} characters (at most {QUESTION_LIMIT})"
    return None
