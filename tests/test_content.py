from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main as cli_main
from bot.content import ContentError, ContentStore, load_content
from bot.settings import PROJECT_ROOT

CONTENT = PROJECT_ROOT / "content"


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def test_shipped_content_is_valid() -> None:
    content = load_content(CONTENT)
    assert {"sayansk", "zima"} <= set(content.municipalities)
    assert "Саянск" in content.text("greeting", "sayansk")
    assert "8 (39554)" in content.text("help_parent", "zima")
    # unknown municipality ids fall back to the default one
    assert content.municipality("nowhere").id == content.default_municipality_id


def test_problems_name_file_entry_and_reason(content_copy: Path) -> None:
    texts = content_copy / "texts.yaml"
    texts.write_text(
        texts.read_text(encoding="utf-8").replace("greeting: |", "greeting_old: |")
        + 'broken: "<b>unclosed {no_such_placeholder}"\n',
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as info:
        load_content(content_copy)
    reasons = [str(p) for p in info.value.problems]
    assert any(r.startswith("texts.yaml: greeting: required text is missing") for r in reasons)
    assert any("texts.yaml: broken: unclosed tag" in r for r in reasons)
    assert any("unknown placeholder" in r and "no_such_placeholder" in r for r in reasons)


def test_bad_municipality_file(content_copy: Path) -> None:
    path = content_copy / "municipalities.yaml"
    text = path.read_text(encoding="utf-8").replace("url: https://р38", "url: ftp://р38", 1)
    path.write_text(text.replace("min_age: 5", "min_age: 50", 1), encoding="utf-8")
    with pytest.raises(ContentError) as info:
        load_content(content_copy)
    reasons = "\n".join(str(p) for p in info.value.problems)
    assert "municipalities.yaml: sayansk: navigator.url" in reasons
    assert "certificate.min_age" in reasons


def test_not_yaml_and_missing_files(content_copy: Path) -> None:
    (content_copy / "texts.yaml").write_text("key: [unclosed", encoding="utf-8")
    with pytest.raises(ContentError, match="not valid YAML"):
        load_content(content_copy)
    (content_copy / "texts.yaml").unlink()
    with pytest.raises(ContentError, match="file is missing"):
        load_content(content_copy)


def test_reload_keeps_old_content_when_new_is_broken(content_copy: Path) -> None:
    store = ContentStore(content_copy)
    seen: list[str] = []
    store.on_reload(lambda c: seen.append(c.texts["menu"]))
    texts = content_copy / "texts.yaml"
    original = texts.read_text(encoding="utf-8")
    texts.write_text(original.replace("Главное меню", "Меню МОЦ"), encoding="utf-8")
    assert "Меню МОЦ" in store.reload().texts["menu"]
    texts.write_text(original + "\nbad: <i>\n", encoding="utf-8")
    with pytest.raises(ContentError):
        store.reload()
    assert "Меню МОЦ" in store.current.texts["menu"]
    assert len(seen) == 1


def test_default_municipality_must_exist(content_copy: Path) -> None:
    with pytest.raises(ContentError, match="DEFAULT_MUNICIPALITY"):
        load_content(content_copy, "atlantis")
    assert load_content(content_copy, "zima").default_municipality_id == "zima"


def test_content_check_command(content_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["content", "check", "--dir", str(content_copy)]) == 0
    assert "content OK" in capsys.readouterr().out
    (content_copy / "texts.yaml").write_text("menu: <b>x\n", encoding="utf-8")
    assert cli_main(["content", "check", "--dir", str(content_copy)]) == 1
    err = capsys.readouterr().err
    assert "texts.yaml: menu: unclosed tag(s): <b>" in err
    assert "texts.yaml: greeting: required text is missing" in err


def test_texts_in_files_with_params_and_russian_plurals(content_copy: Path) -> None:
    (content_copy / "texts").mkdir(exist_ok=True)
    (content_copy / "texts" / "extra.yaml").write_text(
        "questions_open:\n"
        "  params: [count]\n"
        "  text: 'Открыто {count} {count:вопрос|вопроса|вопросов} в {municipality_name}'\n"
        "plain: Просто текст\n",
        encoding="utf-8",
    )
    content = load_content(content_copy)
    forms = [content.text("questions_open", "zima", count=n) for n in (1, 3, 5, 11, 21, 22, 112)]
    assert [f.split()[2] for f in forms] == [
        "вопрос", "вопроса", "вопросов", "вопросов", "вопрос", "вопроса", "вопросов",
    ]  # fmt: skip
    assert "Зима" in forms[0]
    with pytest.raises(KeyError, match="count"):
        content.text("questions_open", "zima")  # the code must pass what the text declares


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("bad: 'Привет, {name}'\n", "unknown placeholder"),
        ("bad:\n  params: [n]\n  text: '{n:один|два}'\n", "three plural forms"),
        ("bad:\n  params: [Bad-Name]\n  text: x\n", "lowercase names"),
        ("bad: '<b>не закрыт'\n", "unclosed tag"),
        ("greeting: другой\n", "defined twice"),
        ("bad: '" + "я" * 4100 + "'\n", "longer than 4096"),
    ],
)
def test_bad_texts_are_refused_with_file_key_and_reason(content_copy: Path, body: str, reason: str) -> None:
    (content_copy / "texts").mkdir(exist_ok=True)
    (content_copy / "texts" / "extra.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(ContentError) as info:
        load_content(content_copy)
    message = str(info.value)
    assert reason in message
