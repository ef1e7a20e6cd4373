"""The doc-example machinery itself: what counts as a command, what is normalised, what ``...`` allows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.docblocks import blocks, matches, normalise, parse_commands

DOC = """Intro.

<!-- doctest: skip needs a GPU -->
```console
$ nvidia-smi
```

```console
$ phistack data keygen -o dev \\
    --force
file:/tmp/x/dev.key

$ cat > a.yaml <<'EOF'
$ not a command: inside the here-document
EOF
$ echo $?
0
```

```python
print("not a command block")
```
"""


def test_blocks_commands_outputs_and_skips(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(DOC)
    skipped, run = blocks(doc)
    assert (skipped.line, skipped.skip, [c.text for c in skipped.commands]) == (4, "needs a GPU", ["nvidia-smi"])
    assert run.skip is None and run.line == 8
    assert [(c.line, c.text, c.expected) for c in run.commands] == [
        (9, "phistack data keygen -o dev \\\n    --force", ("file:/tmp/x/dev.key",)),
        (13, "cat > a.yaml <<'EOF'\n$ not a command: inside the here-document\nEOF", ()),
        (16, "echo $?", ("0",)),
    ]


def test_an_unknown_directive_is_an_error(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- doctest: maybe -->\n```console\n$ true\n```\n")
    with pytest.raises(ValueError, match="unknown doctest directive"):
        blocks(doc)


@pytest.mark.parametrize(
    ("shown", "real"),
    [
        ("plan sha256:5d68508f0e0c", "plan sha256:8b98629b11c4"),
        ("key id 1a7fa19d50aae786", "key id f775a17f3598ff1b"),
        ("at 2026-11-27T17:45:19.364496Z", "at 2026-12-02T01:37:51.029032Z"),
        ("valid from 2022-03-01T00:00:00+00:00", "valid from 2023-01-01T10:00:00+00:00"),
        ("record 20261127T173817Z.json", "record 20261202T013817Z.json"),
        ("file:/tmp/datadoc/dev.key", "file:/tmp/phistack-docs-1x2/dev.key"),
        ("https://127.0.0.1:37265 up", "https://127.0.0.1:40001 up"),
        ("(19 files, 1.5s)", "(19 files, 12.25s)"),
        ('"seconds": 0.8928,', '"seconds": 12.5,'),
    ],
)
def test_what_varies_is_normalised(shown: str, real: str) -> None:
    assert normalise(shown) == normalise(real)


@pytest.mark.parametrize(
    ("shown", "real"),
    [
        ("segment 3 failed", "segment 4 failed"),  # small numbers are content, not noise
        ("serial 5e00", "serial 5e01"),  # short hex too
        ("3 records", "2 records"),
        ("5,000,000 bytes", "4,000,000 bytes"),
    ],
)
def test_content_is_not_normalised(shown: str, real: str) -> None:
    assert not matches(normalise(shown), normalise(real))


def test_workdir_is_a_temporary_path() -> None:
    workdir = Path("/var/tmp/some-ci-dir/repo")
    assert normalise(f"wrote {workdir}/out/x.enc", workdir) == normalise("wrote /tmp/demo/out/x.enc")


def test_ellipsis_lines_and_inline() -> None:
    assert matches("first\n...\nlast", "first\na\nb\nlast")
    assert matches("first\n...\nlast", "first\nlast")
    assert matches("on cpu (...) in 1s", "on cpu (Intel(R) Xeon(R)) in 1s")
    assert not matches("first\n...\nlast", "first\na\nnot last")
    assert not matches("on cpu (...) in 1s", "on cpu (x)\nin 1s")
    assert not matches("exactly", "exactly\nand more")


def test_parse_ignores_text_before_the_first_prompt() -> None:
    assert [c.text for c in parse_commands(("# a comment", "$ true"), 0)] == ["true"]
