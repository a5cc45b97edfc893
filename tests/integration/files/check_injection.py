"""check_injection.py WORK: checks the gate's outputs over data/inject.json
(test ids and function names carrying Markdown headings, code fences, an
<img onerror>, ANSI escapes, a bidi override and invalid UTF-8):

  WORK/summary.txt   no byte a terminal acts on; the escapes shown as text
  WORK/summary.md    rendered by a CommonMark renderer (markdown-it-py,
                     raw HTML on, as GitHub's job summaries): one heading,
                     leakgate's own; no <img> element; no escape byte
  WORK/junit.xml     well-formed for an XML parser; names kept readable
  WORK/report.html   valid UTF-8; no <img> element, no escape byte
Prints each failure and exits 1 if any."""
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from markdown_it import MarkdownIt

work = sys.argv[1]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def read(name):
    with open(f"{work}/{name}", "rb") as f:
        return f.read()


def utf8(name, data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        check(False, f"{name}: not UTF-8 ({e})")
        return data.decode("utf-8", "replace")


CONTROL = bytes(range(0x00, 0x20)).replace(b"\n", b"").replace(b"\t", b"") + b"\x7f"

text = read("summary.txt")
check(not any(c in text for c in CONTROL), "summary.txt: a control byte reached the terminal")
check(b"\\x1b[2J" in text and b"\\u202e" in text, "summary.txt: escapes not shown as \\x1b, \\u202e")
check(b"\\xff" in text, "summary.txt: invalid UTF-8 not shown as \\xff")
utf8("summary.txt", text)

md = utf8("summary.md", read("summary.md"))
check(not any(chr(c) in md for c in CONTROL), "summary.md: a control character")
html = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.h2 = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_h2 = self._in_h2 or tag == "h2"
        if tag == "h2":
            self.h2.append("")

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.h2[-1] += data


t = Tags()
t.feed(html)
check(t.h2 == ["leakgate gate: FAILED: 2 new leaks"], f"summary.md: headings {t.h2}")
check("img" not in t.tags, "summary.md: an <img> element was rendered")
check("onerror" in html, "summary.md: the injected text is gone instead of shown")

junit = read("junit.xml")
try:
    root = ET.fromstring(junit)
    names = [tc.get("name") for tc in root.iter("testcase")]
    check(any("\\n\\n## leakgate gate: PASSED" in n for n in names), f"junit.xml: names {names}")
except ET.ParseError as e:
    check(False, f"junit.xml is not well-formed: {e}")

page = utf8("report.html", read("report.html"))
t = Tags()
t.feed(page)
check("img" not in t.tags, "report.html: an <img> element")
check(not any(chr(c) in page for c in CONTROL), "report.html: a control character")

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
