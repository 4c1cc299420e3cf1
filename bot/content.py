"""Content staff edit without code: UI texts and municipality settings.

Everything under `content/` is loaded once into validated models. Features load
their own sections (the FAQ, for example; named in `bot.wiring`); an invalid
file is refused with the file, the entry and the reason, and a failed reload
keeps the previous content live.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.html import html_errors

logger = logging.getLogger(__name__)

TEXTS_FILE = "texts.yaml"
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
)


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


class CertificateSettings(_Strict):
    nominal: str
    period: str
    min_age: int = Field(ge=0, le=18)
    max_age: int = Field(ge=1, le=18)


class Department(_Strict):
    name: str
    phone: str


class Municipality(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    name: str
    region_name: str
    navigator: Navigator
    moc: Moc
    certificate: CertificateSettings
    education_department: Department

    def placeholders(self) -> dict[str, str]:
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
            "certificate_nominal": self.certificate.nominal,
            "certificate_period": self.certificate.period,
            "min_age": str(self.certificate.min_age),
            "max_age": str(self.certificate.max_age),
            "education_department": self.education_department.name,
            "education_department_phone": self.education_department.phone,
        }


def placeholders_in(template: str) -> set[str]:
    """Names of the `{placeholders}` a template uses; raises ValueError on bad braces."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def render(template: str, values: Mapping[str, object]) -> str:
    return template.format_map(dict(values))


@dataclass(frozen=True)
class Content:
    """One validated snapshot of everything under `content/`."""

    directory: Path
    texts: dict[str, str]
    municipalities: dict[str, Municipality]
    default_municipality_id: str
    sections: dict[str, Any] = field(default_factory=dict)

    @property
    def single_municipality(self) -> bool:
        return len(self.municipalities) == 1

    def municipality(self, municipality_id: str | None = None) -> Municipality:
        if municipality_id and municipality_id in self.municipalities:
            return self.municipalities[municipality_id]
        return self.municipalities[self.default_municipality_id]

    def text(self, key: str, municipality_id: str | None = None, **extra: object) -> str:
        values: dict[str, object] = dict(self.municipality(municipality_id).placeholders())
        values.update(extra)
        return render(self.texts[key], values).strip()  # YAML blocks end with a newline

    def section(self, name: str) -> Any:
        return self.sections[name]


# A feature loads and validates its own part of `content/`: the loader gets the content
# folder and the base content (texts and municipalities) and returns its parsed section
# or raises ContentError. The sections are named in one place: `bot.wiring`.
SectionLoader = Callable[[Path, Content], Any]


_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path, base: Path) -> Any:
    rel = str(path.relative_to(base)) if path.is_relative_to(base) else str(path)
    try:
        # libyaml's safe loader when PyYAML has it (several times faster), the same safe subset
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except FileNotFoundError:
        raise ContentError([ContentProblem(rel, "-", "file is missing")]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ContentError([ContentProblem(rel, "-", f"not valid YAML: {exc}")]) from None


def _load_texts(directory: Path) -> tuple[dict[str, str], list[ContentProblem]]:
    data = read_yaml(directory / TEXTS_FILE, directory)
    problems: list[ContentProblem] = []
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return {}, [ContentProblem(TEXTS_FILE, "-", "must be a mapping of key: text")]
    texts = {str(k): v for k, v in data.items()}
    for key in sorted(REQUIRED_TEXTS - texts.keys()):
        problems.append(ContentProblem(TEXTS_FILE, key, "required text is missing"))
    for key, value in texts.items():
        for err in html_errors(value):
            problems.append(ContentProblem(TEXTS_FILE, key, err))
        try:
            unknown = placeholders_in(value) - set(PLACEHOLDERS)
        except ValueError as exc:
            problems.append(ContentProblem(TEXTS_FILE, key, f"bad placeholder braces: {exc}"))
            continue
        if unknown:
            problems.append(ContentProblem(TEXTS_FILE, key, f"unknown placeholder(s): {sorted(unknown)}"))
    return texts, problems


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
    if not result and not problems:
        problems.append(ContentProblem(MUNICIPALITIES_FILE, "-", "at least one municipality is required"))
    return result, problems


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
    texts, problems = _load_texts(directory)
    municipalities, more = _load_municipalities(directory)
    problems.extend(more)
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
    content = Content(directory, texts, municipalities, default_id)
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
