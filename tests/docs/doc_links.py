#!/usr/bin/env python3
"""Checks that every link to a Markdown file in README.md and docs/*.md
resolves: the file exists and, for `FILE.md#anchor` (or `#anchor` in the same
file), a heading of that file has the anchor.

Anchors follow GitHub's rule: the heading's text lowercased, spaces turned
into '-', every character but letters, digits, '-' and '_' dropped, and a
repeated anchor numbered `-1`, `-2`, ... Headings inside ``` blocks do not
count, nor do links there.

  tests/docs/doc_links.py [ROOT]     prints each broken link; exit code 1 if any
"""
import pathlib
import re
import sys

HEADING = re.compile(r"^#{1,6} (.*)$")
LINK = re.compile(r"\]\(([^)\s]*?)(#[^)\s]*)?\)")


def slug(text):
    text = text.strip().lower()
    return "".join(c if c.isalnum() or c in "-_" else "-" if c == " " else "" for c in text)


def outside_code_blocks(path):
    """Yields (line number, line) for the lines outside fenced blocks."""
    in_block = False
    for number, line in enumerate(path.read_text().split("\n"), 1):
        if line.startswith("```"):
            in_block = not in_block
        elif not in_block:
            yield number, line


def anchors(path, cache={}):
    if path not in cache:
        seen, found = {}, set()
        for _, line in outside_code_blocks(path):
            m = HEADING.match(line)
            if m:
                s = slug(m.group(1))
                found.add(s if s not in seen else f"{s}-{seen[s]}")
                seen[s] = seen.get(s, 0) + 1
        cache[path] = found
    return cache[path]


def broken_links(root, counted):
    """Yields "DOC:LINE: what is wrong" for each broken link; counts every
    link to a Markdown file in counted[0]."""
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for number, line in outside_code_blocks(doc):
            for m in LINK.finditer(line):
                target, anchor = m.group(1), m.group(2)
                if target and not target.endswith(".md"):
                    continue
                counted[0] += 1
                path = doc.parent / target if target else doc
                where = f"{doc.relative_to(root)}:{number}: {target}"
                if not path.is_file():
                    yield f"{where} does not exist"
                elif anchor and anchor[1:] not in anchors(path):
                    yield f"{where}{anchor}: no such heading"


def main(argv):
    root = pathlib.Path(argv[1] if len(argv) > 1 else ".")
    counted = [0]
    broken = list(broken_links(root, counted))
    print("\n".join(broken + [f"{counted[0]} links to Markdown files checked, {len(broken)} broken"]))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
