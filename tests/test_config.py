"""Config files: strict validation, errors with file and line, `borderwatch config validate`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from borderwatch.cli import main
from borderwatch.config import CrossConfig, HealthConfig, LineConfig, MotionConfig, ScanConfig, TrackConfig, load_config_file
from borderwatch.errors import ConfigError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "config.md"

GOOD_TOML = """\
# two lines and one setting
[[lines]]
name = "gate"
points = [[0, 0.5], [1, 0.5]]
sides = ["US", "CA"]

[[lines]]
name = "fence"
points = [[0.5, 0], [0.5, 1]]

[cross]
strip_frac = 0.02
"""

GOOD_YAML = """\
lines:
  - name: gate
    points: [[0, 0.5], [1, 0.5]]
    sides: [US, CA]
  - name: fence
    points: [[0.5, 0], [0.5, 1]]
cross:
  strip_frac: 0.02
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name,text", [("site.toml", GOOD_TOML), ("site.yaml", GOOD_YAML), ("site.yml", GOOD_YAML)])
def test_good_files_load_identically(tmp_path, name, text):
    cfg = load_config_file(write(tmp_path, name, text))
    assert [ln.name for ln in cfg.lines] == ["gate", "fence"]
    assert cfg.lines[0].sides == ("US", "CA") and cfg.lines[1].sides == ("A", "B")
    assert cfg.cross.strip_frac == 0.02
    assert cfg.motion == MotionConfig()  # untouched sections keep their defaults


# (file name, text, expected line, text that must appear in the message)
BAD = [
    ("top.toml", GOOD_TOML + "colour = 'red'\n", None, "colour: unknown key"),
    ("nested.toml", GOOD_TOML.replace("strip_frac", "strip_fra"), 12, "cross.strip_fra: unknown key (expected one of: strip_frac)"),
    ("line.toml", GOOD_TOML.replace('name = "fence"', 'name = "fence"\nwidth = 3'), 9, "lines.1.width: unknown key"),
    ("value.toml", GOOD_TOML.replace("0.02", "0.9"), 12, "cross.strip_frac: Input should be less than 0.5"),
    ("sides.toml", GOOD_TOML.replace('["US", "CA"]', '["US", "US"]'), 5, "lines.0.sides: sides must be two distinct"),
    ("top.yaml", GOOD_YAML + "colour: red\n", 9, "colour: unknown key"),
    ("nested.yaml", GOOD_YAML.replace("strip_frac", "strip_fra"), 8, "cross.strip_fra: unknown key"),
    ("line.yaml", GOOD_YAML.replace("    sides: [US, CA]", "    sides: [US, CA]\n    colour: red"), 5, "lines.0.colour: unknown key"),
    ("points.yaml", GOOD_YAML.replace("[[0.5, 0], [0.5, 1]]", "[[0.5, 0]]"), 6, "lines.1.points: a line needs at least two points"),
    ("nolines.yaml", "cross:\n  strip_frac: 0.02\n", None, "lines: required key is missing"),
]


@pytest.mark.parametrize("name,text,line,fragment", BAD, ids=[b[0] for b in BAD])
def test_invalid_files_name_file_line_and_key(tmp_path, name, text, line, fragment):
    path = write(tmp_path, name, text)
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    msg = str(info.value)
    assert "\n" not in msg and fragment in msg
    prefix = f"{path}:{line}: " if line else f"{path}"
    assert msg.startswith(prefix), msg
    assert "Value error" not in msg  # pydantic's internal wording is not shown


def test_toml_top_level_unknown_key_is_found_on_its_line(tmp_path):
    path = write(tmp_path, "t.toml", "colour = 'red'\n" + GOOD_TOML)
    with pytest.raises(ConfigError, match=re.escape(f"{path}:1: colour: unknown key")):
        load_config_file(path)


@pytest.mark.parametrize(
    "name,text,where",
    [
        ("bad.toml", '[[lines]]\nname = "a"\npoints = [[0, 0.5], [1, 0.5]\n', ":4"),
        ("bad2.toml", "[cross]\nstrip_frac = = 2\n", ":2:"),
        ("bad.yaml", "lines:\n  - name: a\n   points: [[0, 0.5], [1, 0.5]]\n", ":3:4:"),
        ("bad2.yaml", "lines: [\n", ":2:"),
    ],
)
def test_malformed_files_give_one_line_with_file_and_line(tmp_path, name, text, where):
    path = write(tmp_path, name, text)
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{path}{where}") and "cannot parse" in msg, msg


@pytest.mark.parametrize(
    "name,data,fragment",
    [
        ("missing.toml", None, "config file not found"),
        ("list.yaml", b"- a\n- b\n", "expected a table/mapping"),
        ("scalar.yaml", b"42\n", "expected a table/mapping"),
        ("c.json", b"{}", "must be .toml, .yaml or .yml"),
        ("binary.toml", b"\xff\xfe\x00garbage", "cannot read"),
    ],
)
def test_unusable_files(tmp_path, name, data, fragment):
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        load_config_file(path)


def test_overrides_replace_lines_and_carry_no_file_line(tmp_path):
    path = write(tmp_path, "s.toml", GOOD_TOML)
    cfg = load_config_file(path, {"lines": [{"name": "x", "points": [[0, 0], [1, 1]]}]})
    assert [ln.name for ln in cfg.lines] == ["x"] and cfg.cross.strip_frac == 0.02
    with pytest.raises(ConfigError) as info:
        load_config_file(path, {"lines": []})
    assert str(info.value).startswith(f"{path}: lines:")


# --- borderwatch config validate ---------------------------------------------------------


def test_validate_ok(tmp_path, capsys):
    assert main(["config", "validate", str(write(tmp_path, "s.toml", GOOD_TOML))]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "ok: 2 lines (gate, fence)" and err == ""


def test_validate_one_line(tmp_path, capsys):
    text = '[[lines]]\npoints = [[0, 0.5], [1, 0.5]]\n'
    assert main(["config", "validate", str(write(tmp_path, "one.toml", text))]) == 0
    assert capsys.readouterr().out.strip() == "ok: 1 line (border)"


def test_validate_json_is_the_validated_config(tmp_path, capsys):
    assert main(["config", "validate", str(write(tmp_path, "s.yaml", GOOD_YAML)), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert ScanConfig.model_validate(data) == load_config_file(tmp_path / "s.yaml")
    assert data["cross"]["strip_frac"] == 0.02 and data["motion"]["analysis_width"] == MotionConfig().analysis_width


def test_validate_reports_every_problem_and_exits_2(tmp_path, capsys):
    text = GOOD_YAML.replace("strip_frac", "strip_fra") + "colour: red\n"
    path = write(tmp_path, "s.yaml", text)
    assert main(["config", "validate", str(path)]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 2
    assert all(ln.startswith(f"borderwatch: error: {path}:") for ln in lines)
    assert any("cross.strip_fra: unknown key" in ln for ln in lines) and any("colour: unknown key" in ln for ln in lines)


def test_validate_malformed_and_missing(tmp_path, capsys):
    path = write(tmp_path, "bad.toml", "[cross\n")
    assert main(["config", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"borderwatch: error: {path}:1") and err.count("\n") == 1 and "Traceback" not in err
    assert main(["config", "validate", str(tmp_path / "nope.toml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_validate_help_and_usage(capsys):
    assert main(["config", "validate", "--help"]) == 0
    assert "borderwatch config validate" in capsys.readouterr().out
    assert main(["config", "validate"]) == 2  # missing FILE is a usage error


# --- docs/config.md lists every setting ---------------------------------------------------


def test_docs_list_every_setting_and_examples_validate(tmp_path):
    text = DOCS.read_text(encoding="utf-8")
    for model in (ScanConfig, LineConfig, MotionConfig, TrackConfig, CrossConfig, HealthConfig):
        for name in model.model_fields:
            listed = f"| `{name}` |" in text or f"### `{name}`" in text  # a setting or a section
            assert listed, f"docs/config.md does not list {model.__name__}.{name}"
    toml = re.search(r"```toml\n(.*?)```", text, re.S)
    yaml = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert toml and yaml
    a = load_config_file(write(tmp_path, "ex.toml", toml.group(1)))
    b = load_config_file(write(tmp_path, "ex.yaml", yaml.group(1)))
    assert a == b
