"""Content staff edit without code: UI texts and municipality settings.

Everything under `content/` is loaded once into validated models. Features load
their own sections (the FAQ, for example; named in `bot.wiring`); an invalid
file is refused with the file, the entry and the reason, and a failed reload
keeps the previous content live.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.html import html_errors, visible_length

logger = logging.getLogger(__name__)

TEXTS_FILE = "texts.yaml"
TEXTS_DIR = "texts"  # more texts, one file per part of the bot (content/texts/*.yaml)
TEXT_LIMIT = 4096  # Telegram's limit for one message, after placeholders are filled
_PARAM = re.compile(r"^[a-z_][a-z0-9_]{0,31}$")
MUNICIPALITIES_FILE = "municipalities.yaml"

# Keys every texts.yaml must define (features may add to this set).
REQUIRED_TEXTS: set[str] = {
    "greeting",
    "consent",
    "consent_accepted",
    "consent_required",
    "help_parent",
    "help_staff",
    "menu",
}

PLACEHOLDERS = (
    "region_name",
    "municipality_name",
    "navigator_name",
    "navigator_url",
    "moc_name",
    "moc_phone",
    "moc_email",
    "moc_address",
    "moc_hours",
    "certificate_nominal",
    "certificate_period",
    "min_age",
    "max_age",
    "education_department",
    "education_department_phone",
    "enrollment_periods",
)

# Placeholders that choose one of two wordings by a municipality setting, written
# `{unit:text where the номинал is in roubles|text where it is in hours}`; the tuple
# names the settings' values in the order of the variants.
CHOICES: dict[str, tuple[str, str]] = {
    "unit": ("money", "hours"),  # certificate.nominal.unit
    "issued": ("once", "per_period"),  # certificate.issued
    "activation": ("yes", "no"),  # navigator.activation_step
    "enrollment": ("set", "unset"),  # enrollment_periods given or not
}
# Optional settings: their placeholder may appear only in the first variant of its choice.
CHOICE_ONLY: dict[str, str] = {"enrollment_periods": "enrollment"}


@dataclass(frozen=True)
class ContentProblem:
    file: str
    entry: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.reason}"


class ContentError(Exception):
    def __init__(self, problems: list[ContentProblem]) -> None:
        self.problems = problems
        super().__init__("invalid content:\n" + "\n".join(f"  - {p}" for p in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Navigator(_Strict):
    name: str
    url: str
    # The Navigator has its own «Активировать сертификат» step after the data are confirmed.
    activation_step: bool = False

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https://")
        return value


class Moc(_Strict):
    name: str
    phone: str
    email: str
    address: str
    hours: str
    site: str | None = None


NOMINAL_EXAMPLE = "{amount: 8000, unit: money, per: в год} or {amount: 72, unit: hours, per: в год}"


class Nominal(_Strict):
    """The номинал of a financed certificate: an amount of roubles or of hours of classes."""

    amount: Decimal = Field(gt=0, le=10_000_000, decimal_places=2)
    unit: Literal["money", "hours"]
    per: str = ""  # what the amount is given for, shown after it: «в год»

    @model_validator(mode="after")
    def _whole_hours(self) -> Nominal:
        if self.unit == "hours" and self.amount != self.amount.to_integral_value():
            raise ValueError("a номинал in hours must be a whole number")
        return self

    def text(self) -> str:
        """«8 000 руб. в год», «72 часа в год»."""
        whole = int(self.amount)
        number = f"{whole:,}".replace(",", " ")
        cents = int((self.amount - whole) * 100)
        if cents:
            number += f",{cents:02d}"
        word = "руб." if self.unit == "money" else _hours_word(whole)
        return " ".join(part for part in (number, word, self.per.strip()) if part)


def _hours_word(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "час"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "часа"
    return "часов"


class CertificateSettings(_Strict):
    nominal: Nominal
    period: str
    # once: issued once per child and valid until max_age; per_period: issued anew for
    # each period (on an application), as in regions that issue it per calendar year.
    issued: Literal["once", "per_period"] = "once"
    min_age: int = Field(ge=0, le=18)
    max_age: int = Field(ge=1, le=18)

    @field_validator("nominal", mode="before")
    @classmethod
    def _structured(cls, value: object) -> object:
        if isinstance(value, str | int | float):
            raise ValueError(f"write the номинал as an amount and a unit (money or hours): {NOMINAL_EXAMPLE}")
        return value


class Department(_Strict):
    name: str
    phone: str


# Words files put before a municipality's name: «г. Зима», «город Зима», «МО «город Саянск»».
_PLACE_PREFIXES = (
    ("муниципальное", "образование"), ("муниципальный", "округ"), ("городской", "округ"),
    ("мо",), ("го",), ("город",), ("гор",), ("г",),
)  # fmt: skip
_PLACE_PUNCTUATION = re.compile(r"[\s.,;:«»\"'„“”()]+")


def place_key(text: str) -> str:
    """How a municipality's name, id or alias is compared: case, ё, quotes and the words
    «г.», «город», «МО», «городской округ» in front do not matter."""
    words = _PLACE_PUNCTUATION.sub(" ", text.lower().replace("ё", "е")).split()
    stripped = True
    while stripped and words:
        stripped = False
        for prefix in _PLACE_PREFIXES:
            if len(words) > len(prefix) and tuple(words[: len(prefix)]) == prefix:
                words = words[len(prefix) :]
                stripped = True
                break
    return " ".join(words)


class Municipality(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    name: str
    # Other names import files use for this municipality («Зиминский район» where one МОЦ
    # serves the district too); «г. Зима» and «город Зима» are recognised without them.
    aliases: tuple[str, ...] = ()
    region_name: str
    navigator: Navigator
    moc: Moc
    certificate: CertificateSettings
    education_department: Department
    # Optional, in the nominative after a label: «основной набор — с 20 августа, дополнительный — в январе».
    enrollment_periods: str | None = Field(default=None, min_length=1)

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for alias in value:
            if not place_key(alias):
                raise ValueError(f"alias {alias!r} is empty once «г.», «город» and quotes are left out")
            if len(alias) > 100:
                raise ValueError(f"alias {alias[:40]!r}… is longer than 100 characters")
        return value

    def names(self) -> tuple[str, ...]:
        """The id, the name and the aliases: what an import file may call this municipality."""
        return (self.id, self.name, *self.aliases)

    def placeholders(self) -> dict[str, str]:
        """Values for `{placeholders}`; the CHOICES keys hold the option a choice picks."""
        return {
            "region_name": self.region_name,
            "municipality_name": self.name,
            "navigator_name": self.navigator.name,
            "navigator_url": self.navigator.url,
            "moc_name": self.moc.name,
            "moc_phone": self.moc.phone,
            "moc_email": self.moc.email,
            "moc_address": self.moc.address,
            "moc_hours": self.moc.hours,
            "certificate_nominal": self.certificate.nominal.text(),
            "certificate_period": self.certificate.period,
            "min_age": str(self.certificate.min_age),
            "max_age": str(self.certificate.max_age),
            "education_department": self.education_department.name,
            "education_department_phone": self.education_department.phone,
            "enrollment_periods": self.enrollment_periods or "",
            "unit": self.certificate.nominal.unit,
            "issued": self.certificate.issued,
            "activation": "yes" if self.navigator.activation_step else "no",
            "enrollment": "set" if self.enrollment_periods else "unset",
        }


_FORMATTER = string.Formatter()


_Field = tuple[str, str, str | None, tuple[str, int] | None]


def _split_variants(spec: str) -> list[str]:
    """A choice's variants: its format spec split at each | outside nested braces."""
    variants, depth, start = [], 0, 0
    for index, char in enumerate(spec):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "|" and depth == 0:
            variants.append(spec[start:index])
            start = index + 1
    return [*variants, spec[start:]]


def _fields(template: str, inside: tuple[str, int] | None = None) -> Iterator[_Field]:
    """(name, format spec, conversion, enclosing (choice, variant index)) of every field,
    the fields inside a choice's variants included; raises ValueError on bad braces."""
    for _, name, spec, conversion in _FORMATTER.parse(template):
        if name is None:
            continue
        yield name, spec or "", conversion, inside
        if name in CHOICES and inside is None:
            for index, variant in enumerate(_split_variants(spec or "")):
                yield from _fields(variant, (name, index))


def placeholders_in(template: str) -> set[str]:
    """Names of the `{placeholders}` a template uses; raises ValueError on bad braces."""
    return {name for name, _, _, _ in _fields(template)}


def plural_form(n: int) -> int:
    """CLDR plural category for Russian: 0 one (1, 21, 101…), 1 few (2–4, 22–24…), 2 many."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return 0
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return 1
    return 2


def template_problems(template: str, params: Iterable[str] = ()) -> list[str]:
    """Why a template with `{placeholders}` and `{choice:…|…}` is not acceptable (empty when fine).

    `params`: values the code passes to this text (`{count}`); a param may pick a Russian
    plural form: `{count:вопрос|вопроса|вопросов}` (one | few | many)."""
    try:
        fields = list(_fields(template))
    except ValueError as exc:
        return [f"bad placeholder braces: {exc}"]
    problems: list[str] = []
    declared = set(params)
    unknown = sorted({name for name, _, _, _ in fields} - set(PLACEHOLDERS) - CHOICES.keys() - declared)
    if unknown:
        problems.append(f"unknown placeholder(s): {unknown}")
    for name, spec, conversion, _inside in fields:
        if name in declared and (conversion or (spec and len(_split_variants(spec)) != 3)):
            problems.append(
                f"{{{name}:…}} takes either nothing or three plural forms: {{{name}:один|два|пять}}"
            )
    for name, spec, conversion, inside in fields:
        if name in declared:
            continue
        if name in CHOICES:
            options = "|".join(CHOICES[name])
            if inside is not None:
                problems.append(f"{{{name}:…}} cannot be inside the variants of {{{inside[0]}:…}}")
            elif len(_split_variants(spec)) != 2 or conversion:
                problems.append(f"{{{name}:…|…}} needs exactly two variants separated by | (for {options})")
        elif name in PLACEHOLDERS:
            if spec or conversion:
                problems.append(
                    f"{{{name}}} takes no format or variants (only {', '.join(CHOICES)} have variants)"
                )
            choice = CHOICE_ONLY.get(name)
            if choice is not None and inside != (choice, 0):
                problems.append(
                    f"{{{name}}} is optional: use it only in the first variant of {{{choice}:…|…}}"
                )
    return list(dict.fromkeys(problems))


def _variant(name: str, spec: str, selected: object) -> str:
    variants = _split_variants(spec)
    options = CHOICES[name]
    if len(variants) != 2 or selected not in options:
        raise ValueError(f"{{{name}:…|…}} needs two variants and one of {options}, got {selected!r}")
    return variants[options.index(str(selected))]


def render(template: str, values: Mapping[str, object]) -> str:
    """`str.format_map` with choices: `{unit:…|…}` becomes the variant its setting picks."""
    parts: list[str] = []
    for literal, name, spec, conversion in _FORMATTER.parse(template):
        parts.append(literal)
        if name is None:
            continue
        if name in CHOICES:
            parts.append(render(_variant(name, spec or "", values[name]), values))
            continue
        value = values[name]
        if spec and "|" in spec and isinstance(value, int) and len(_split_variants(spec)) == 3:
            parts.append(render(_split_variants(spec)[plural_form(value)], values))  # a plural form
            continue
        if conversion:
            value = _FORMATTER.convert_field(value, conversion)
        parts.append(format(value, render(spec, values) if spec else ""))
    return "".join(parts)


@dataclass(frozen=True)
class Content:
    """One validated snapshot of everything under `content/`."""

    directory: Path
    texts: dict[str, str]
    municipalities: dict[str, Municipality]
    default_municipality_id: str
    sections: dict[str, Any] = field(default_factory=dict)
    # The values the code passes to each text (declared next to the text in content/).
    text_params: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def single_municipality(self) -> bool:
        return len(self.municipalities) == 1

    def municipality(self, municipality_id: str | None = None) -> Municipality:
        if municipality_id and municipality_id in self.municipalities:
            return self.municipalities[municipality_id]
        return self.municipalities[self.default_municipality_id]

    def text(self, key: str, municipality_id: str | None = None, **extra: object) -> str:
        """The text `key` for a municipality; `extra` fills the params it declares.

        Texts are Telegram HTML written by staff: a param that carries what a person or a
        file typed must be escaped by the caller (bot.html.escape)."""
        missing = self.text_params.get(key, frozenset()) - extra.keys()
        if missing:
            raise KeyError(f"text {key!r} needs {sorted(missing)}")
        values: dict[str, object] = dict(self.municipality(municipality_id).placeholders())
        values.update(extra)
        return render(self.texts[key], values).strip()  # YAML blocks end with a newline

    def has_text(self, key: str) -> bool:
        return key in self.texts

    def section(self, name: str) -> Any:
        return self.sections[name]


# A feature loads and validates its own part of `content/`: the loader gets the content
# folder and the base content (texts and municipalities) and returns its parsed section
# or raises ContentError. The sections are named in one place: `bot.wiring`.
SectionLoader = Callable[[Path, Content], Any]


_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The same loader without implicit timestamps: a date such as `reviewed: 2025-02-30` stays
# text, so the models parse it and report a bad one with the file and the entry.
_CONTENT_LOADER: Any = type("_ContentLoader", (_SAFE_LOADER,), {})
_CONTENT_LOADER.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _SAFE_LOADER.yaml_implicit_resolvers.items()
}


def read_yaml(path: Path, base: Path) -> Any:
    rel = str(path.relative_to(base)) if path.is_relative_to(base) else str(path)
    try:
        # libyaml's safe loader when PyYAML has it (several times faster), the same safe subset
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_CONTENT_LOADER)
    except FileNotFoundError:
        raise ContentError([ContentProblem(rel, "-", "file is missing")]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ContentError([ContentProblem(rel, "-", f"not valid YAML: {exc}")]) from None


def _text_entry(raw: object) -> tuple[str, tuple[str, ...]] | str:
    """(text, params) of one entry, or the reason it is not acceptable."""
    if isinstance(raw, str):
        return raw, ()
    if isinstance(raw, dict) and isinstance(raw.get("text"), str) and set(raw) <= {"text", "params"}:
        params = raw.get("params") or []
        if isinstance(params, list) and all(isinstance(p, str) and _PARAM.match(p) for p in params):
            return raw["text"], tuple(params)
        return "params must be a list of lowercase names, e.g. [count, title]"
    return "must be a text, or {text: …, params: [names the bot fills in]}"


def _load_texts(directory: Path) -> tuple[dict[str, str], dict[str, frozenset[str]], list[ContentProblem]]:
    files = [directory / TEXTS_FILE, *sorted((directory / TEXTS_DIR).glob("*.yaml"))]
    texts: dict[str, str] = {}
    params: dict[str, frozenset[str]] = {}
    where: dict[str, str] = {}
    problems: list[ContentProblem] = []
    for path in files:
        rel = str(path.relative_to(directory))
        try:
            data = read_yaml(path, directory)
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        if not isinstance(data, dict):
            problems.append(ContentProblem(rel, "-", "must be a mapping of key: text"))
            continue
        for raw_key, raw in data.items():
            key = str(raw_key)
            entry = _text_entry(raw)
            if isinstance(entry, str):
                problems.append(ContentProblem(rel, key, entry))
                continue
            if key in where:
                problems.append(ContentProblem(rel, key, f"defined twice (also in {where[key]})"))
                continue
            text, names = entry
            texts[key], params[key], where[key] = text, frozenset(names), rel
            for err in html_errors(text):
                problems.append(ContentProblem(rel, key, err))
            for reason in template_problems(text, names):
                problems.append(ContentProblem(rel, key, reason))
    for key in sorted(REQUIRED_TEXTS - texts.keys()):
        problems.append(ContentProblem(TEXTS_FILE, key, "required text is missing"))
    return texts, params, problems


def _too_long(
    texts: dict[str, str], params: dict[str, frozenset[str]], municipalities: dict[str, Municipality]
) -> list[ContentProblem]:
    """Every text filled in for every municipality (params as 40 characters) fits one message."""
    problems: list[ContentProblem] = []
    for key, text in texts.items():
        for municipality in municipalities.values():
            values: dict[str, object] = dict(municipality.placeholders())
            values.update({name: "x" * 40 for name in params.get(key, ())})
            try:
                length = visible_length(render(text, values))
            except (KeyError, ValueError, IndexError):
                continue  # reported by template_problems
            if length > TEXT_LIMIT:
                problems.append(
                    ContentProblem(
                        TEXTS_FILE, key, f"longer than {TEXT_LIMIT} characters for {municipality.id}"
                    )
                )
                break
    return problems


def _load_municipalities(directory: Path) -> tuple[dict[str, Municipality], list[ContentProblem]]:
    data = read_yaml(directory / MUNICIPALITIES_FILE, directory)
    if not isinstance(data, dict) or not isinstance(data.get("municipalities"), list):
        return {}, [ContentProblem(MUNICIPALITIES_FILE, "-", "must contain a list 'municipalities'")]
    result: dict[str, Municipality] = {}
    problems: list[ContentProblem] = []
    for index, raw in enumerate(data["municipalities"], start=1):
        entry = str(raw.get("id", f"#{index}")) if isinstance(raw, dict) else f"#{index}"
        try:
            item = Municipality.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                problems.append(ContentProblem(MUNICIPALITIES_FILE, entry, f"{loc}: {err['msg']}"))
            continue
        if item.id in result:
            problems.append(ContentProblem(MUNICIPALITIES_FILE, item.id, "duplicate id"))
        if item.certificate.min_age > item.certificate.max_age:
            problems.append(ContentProblem(MUNICIPALITIES_FILE, item.id, "min_age is above max_age"))
        result[item.id] = item
    problems.extend(_name_clashes(result))
    if not result and not problems:
        problems.append(ContentProblem(MUNICIPALITIES_FILE, "-", "at least one municipality is required"))
    return result, problems


def _name_clashes(municipalities: Mapping[str, Municipality]) -> list[ContentProblem]:
    """An alias (or name) that two municipalities share would put a file's rows in either."""
    owner: dict[str, str] = {}
    problems: list[ContentProblem] = []
    for mid, item in municipalities.items():
        for name in dict.fromkeys(place_key(n) for n in item.names()):
            other = owner.setdefault(name, mid)
            if other != mid:
                problems.append(
                    ContentProblem(MUNICIPALITIES_FILE, mid, f"name or alias {name!r} also names {other}")
                )
    return problems


def load_content(
    directory: Path,
    default_municipality: str | None = None,
    sections: dict[str, SectionLoader] | None = None,
) -> Content:
    """Load and validate all content; raise ContentError listing every problem.

    `sections`: the features' own parts of the content; by default every feature's
    (`bot.wiring.content_sections`)."""
    if sections is None:
        from bot.wiring import content_sections

        sections = content_sections()
    texts, text_params, problems = _load_texts(directory)
    municipalities, more = _load_municipalities(directory)
    problems.extend(more)
    if not problems:
        problems.extend(_too_long(texts, text_params, municipalities))
    if default_municipality and municipalities and default_municipality not in municipalities:
        problems.append(
            ContentProblem(
                MUNICIPALITIES_FILE,
                default_municipality,
                "DEFAULT_MUNICIPALITY names a municipality that is not in this file",
            )
        )
    if problems:
        raise ContentError(problems)
    default_id = default_municipality or next(iter(municipalities))
    content = Content(directory, texts, municipalities, default_id, text_params=text_params)
    for name, loader in sections.items():
        try:
            content.sections[name] = loader(directory, content)
        except ContentError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ContentError(problems)
    return content


class ContentStore:
    """Holds the live content; `reload()` swaps it only when the new one is valid."""

    def __init__(
        self,
        directory: Path,
        default_municipality: str | None = None,
        sections: dict[str, SectionLoader] | None = None,
    ) -> None:
        self.directory = directory
        self.default_municipality = default_municipality
        self.sections = sections
        self._content = load_content(directory, default_municipality, sections)
        self._listeners: list[Callable[[Content], None]] = []

    @property
    def current(self) -> Content:
        return self._content

    def on_reload(self, listener: Callable[[Content], None]) -> None:
        """Call `listener` with the new content after each successful reload."""
        self._listeners.append(listener)

    def reload(self) -> Content:
        new = load_content(self.directory, self.default_municipality, self.sections)  # raises, old stays
        self._content = new
        for listener in self._listeners:
            listener(new)
        logger.info("content reloaded from %s", self.directory)
        return new
