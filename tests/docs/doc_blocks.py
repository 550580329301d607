#!/usr/bin/env python3
"""Code blocks of the docs that the suite keeps true.

A fenced block right after a marker line is tied to what the marker names:
  <!-- file: PATH -->      the block is the whole of the file PATH (from the
                           repository root); checked here.
  <!-- run: WHO ... -->    commands that WHO runs (tests/package/consumer_test.sh).
  <!-- output: WHAT -->    the output that WHAT prints, compared by its test.

  doc_blocks.py ROOT                    check every file block of README.md and docs/*.md
  doc_blocks.py ROOT DOC KIND NAME      print the block after `<!-- KIND: NAME` in DOC
"""
import pathlib
import re
import sys

MARKER = re.compile(r"^<!-- (file|run|output): (\S+).*-->$")


def blocks(path):
    """Yields (kind, name, line number, block text) for each marked block."""
    lines = path.read_text().split("\n")
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            raise SystemExit(f"{path}:{i + 1}: a '{m.group(1)}' marker must be followed by a ``` block")
        end = i + 2
        while end < len(lines) and lines[end] != "```":
            end += 1
        yield m.group(1), m.group(2), i + 1, "\n".join(lines[i + 2:end]) + "\n"


def main(argv):
    root = pathlib.Path(argv[1])
    if len(argv) == 5:
        for kind, name, _, text in blocks(root / argv[2]):
            if (kind, name) == (argv[3], argv[4]):
                sys.stdout.write(text)
                return 0
        raise SystemExit(f"{argv[2]}: no block marked '{argv[3]}: {argv[4]}'")
    failures, checked = 0, 0
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for kind, name, line, text in blocks(doc):
            if kind != "file":
                continue
            checked += 1
            target = root / name
            if not target.is_file():
                print(f"{doc.relative_to(root)}:{line}: {name} does not exist")
                failures += 1
            elif target.read_text() != text:
                print(f"{doc.relative_to(root)}:{line}: the block differs from {name} (copy the file into it)")
                failures += 1
    print(f"{checked} file blocks checked, {failures} out of date")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
