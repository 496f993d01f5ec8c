"""The messages to translate, read from the code, and the catalogs kept in step.

Reads every string given to a translation bundle in labextension/src
(`t.__('…')`, `t._n('…', '…', n)`, and `N_('…')`, which marks a message a
variable carries to `t.__`) and the settings schema's titles and descriptions
(schema/plugin.json, with the context jupyterlab_server translates them in);
writes the template labextension/i18n/jupyter_session_ext.pot and brings each
catalog, jupyter_session_ext/locale/<lang>/LC_MESSAGES/jupyter_session_ext.po,
in step with it (new messages untranslated, dropped ones removed).
`compile.py` then makes what JupyterLab reads. `make i18n` runs both.

    python labextension/i18n/extract.py               # template and catalogs
    python labextension/i18n/extract.py --init de_DE  # a catalog for a new language

A call whose first argument is not a string literal stops the extraction
unless it is listed in DYNAMIC, with where its values are marked: a message
nobody extracted would stay English in every language.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "labextension" / "src"
SCHEMA = ROOT / "schema" / "plugin.json"
DOMAIN = "jupyter_session_ext"
TEMPLATE = Path(__file__).with_name(f"{DOMAIN}.pot")
LOCALE = ROOT / "jupyter_session_ext" / "locale"

# Calls given a variable, (file, the argument as written): where the values
# it takes are marked for the catalogs.
DYNAMIC = {
    ("format.ts", "status"): "kernel statuses: DATA_WORDS",
    ("format.ts", "HIDDEN_CODE"): "N_ where it is defined",
    ("format.ts", "fault.message"): "FAULT_MESSAGES, N_ (others shown as the server sent them)",
    ("row.tsx", "s.status"): "kernel statuses: DATA_WORDS (format.ts)",
    ("details.tsx", "s.session_mode"): "session modes: DATA_WORDS (format.ts)",
    ("details.tsx", "HIDDEN_WHY"): "N_ in format.ts",
    ("history.tsx", "e.status"): "outcomes: DATA_WORDS (format.ts)",
    ("history.tsx", "HIDDEN_WHY"): "N_ in format.ts",
    ("header.tsx", "SORT_LABELS[k]"): "N_ in sessions.ts",
    ("memory.tsx", "SOURCE_WORDS[m.source ?? ''] ?? SOME_LIMIT"): "N_ beside it",
    ("translate.ts", "msgid"): "the bundle itself",
}

CALL_NAMES = {"__": 1, "_n": 2, "N_": 1}  # how many literal arguments each takes
KEYWORDS_BEFORE_REGEX = {
    "return",
    "typeof",
    "case",
    "do",
    "else",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
    "yield",
    "await",
}


@dataclass(frozen=True)
class Message:
    msgid: str
    plural: str | None = None
    context: str | None = None

    @property
    def key(self) -> str:
        return self.msgid if self.context is None else f"{self.context}\x04{self.msgid}"


@dataclass
class Found:
    messages: dict[Message, set[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, message: Message, where: str) -> None:
        self.messages.setdefault(message, set()).add(where)


class ScanError(ValueError):
    pass


@dataclass
class Token:
    kind: str  # str, template, regex, name, number, punct
    text: str  # as written
    value: str  # a string's value
    start: int
    line: int


ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def decode(body: str) -> str:
    """A JavaScript string literal's value from what stands between its quotes."""
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in ESCAPES:
            out.append(ESCAPES[nxt])
            i += 2
        elif nxt == "x":
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        elif nxt == "u" and body[i + 2] == "{":
            end = body.index("}", i)
            out.append(chr(int(body[i + 3 : end], 16)))
            i = end + 1
        elif nxt == "u":
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        elif nxt == "\n":
            i += 2
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def tokenize(src: str, path: str) -> tuple[list[Token], list[tuple[int, int]]]:
    """TypeScript's tokens (enough of them to find calls and their string
    arguments) and the spans of its comments."""
    tokens: list[Token] = []
    comments: list[tuple[int, int]] = []
    # Open template literals and the brace depth each `${` opened at.
    braces: list[int] = []
    depth = 0
    i = 0
    n = len(src)

    def line(at: int) -> int:
        return src.count("\n", 0, at) + 1

    def fail(at: int, why: str) -> ScanError:
        return ScanError(f"{path}:{line(at)}: {why}")

    def template_from(start: int) -> int:
        """Scan template text from `start` (after ` or }) to its end or to a
        `${`; return the index after it."""
        j = start
        while j < n:
            if src[j] == "\\":
                j += 2
            elif src[j] == "`":
                return j + 1
            elif src.startswith("${", j):
                braces.append(depth)
                return j + 2
            else:
                j += 1
        raise fail(start, "unterminated template literal")

    while i < n:
        c = src[i]
        if c in " \t\r\n":
            i += 1
        elif src.startswith("//", i):
            end = src.find("\n", i)
            end = n if end < 0 else end
            comments.append((i, end))
            i = end
        elif src.startswith("/*", i):
            end = src.find("*/", i + 2)
            if end < 0:
                raise fail(i, "unterminated comment")
            comments.append((i, end + 2))
            i = end + 2
        elif c in "'\"":
            j = i + 1
            while j < n and src[j] != c:
                if src[j] == "\n":
                    raise fail(i, "unterminated string (text in JSX with a quote?)")
                j += 2 if src[j] == "\\" else 1
            if j >= n:
                raise fail(i, "unterminated string")
            tokens.append(Token("str", src[i : j + 1], decode(src[i + 1 : j]), i, line(i)))
            i = j + 1
        elif c == "`":
            end = template_from(i + 1)
            tokens.append(Token("template", src[i:end], "", i, line(i)))
            i = end
        elif c == "}" and braces and braces[-1] == depth:
            braces.pop()
            end = template_from(i + 1)
            tokens.append(Token("template", src[i:end], "", i, line(i)))
            i = end
        elif c == "/":
            prev = tokens[-1] if tokens else None
            regex = (
                prev is None
                or (prev.kind == "punct" and prev.text not in ")]}<")
                or (prev.kind == "name" and prev.text in KEYWORDS_BEFORE_REGEX)
            )
            end = -1
            if regex:
                j, in_class = i + 1, False
                while j < n and src[j] != "\n":
                    if src[j] == "\\":
                        j += 2
                        continue
                    if src[j] == "[":
                        in_class = True
                    elif src[j] == "]":
                        in_class = False
                    elif src[j] == "/" and not in_class:
                        end = j + 1
                        break
                    j += 1
            if end > 0:
                while end < n and (src[end].isalnum() or src[end] == "_"):
                    end += 1  # flags
                tokens.append(Token("regex", src[i:end], "", i, line(i)))
                i = end
            else:
                tokens.append(Token("punct", "/", "", i, line(i)))
                i += 1
        elif c.isalpha() or c in "_$":
            m = re.compile(r"[\w$]+").match(src, i)
            assert m
            tokens.append(Token("name", m.group(), "", i, line(i)))
            i = m.end()
        elif c.isdigit():
            m = re.compile(r"[\w.]+").match(src, i)
            assert m
            tokens.append(Token("number", m.group(), "", i, line(i)))
            i = m.end()
        else:
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
            tokens.append(Token("punct", c, "", i, line(i)))
            i += 1
    return tokens, comments


def arguments(tokens: list[Token], open_at: int) -> list[list[Token]]:
    """The arguments of the call whose `(` is tokens[open_at], as token lists."""
    args: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens[open_at + 1 :]:
        if tok.kind == "punct" and tok.text in "([{":
            depth += 1
        elif tok.kind == "punct" and tok.text in ")]}":
            if depth == 0:
                return [a for a in args if a]
            depth -= 1
        elif tok.kind == "punct" and tok.text == "," and depth == 0:
            args.append([])
            continue
        args[-1].append(tok)
    raise ScanError(f"unclosed call at line {tokens[open_at].line}")


def calls(src: str, path: str) -> Iterator[tuple[str, int, list[list[Token]]]]:
    """Each translation call: its name, line and arguments."""
    tokens, comments = tokenize(src, path)
    seen = set()
    for k, tok in enumerate(tokens[:-1]):
        if tok.kind != "name" or tok.text not in CALL_NAMES:
            continue
        if tokens[k + 1].text != "(":
            continue
        before = tokens[k - 1] if k else None
        method = before is not None and before.text == "."
        if tok.text != "N_" and not method:
            continue  # a definition (`__(msgid: string…)` in an interface)
        if tok.text == "N_" and (
            method or (before is not None and before.text in {"function", "const"})
        ):
            continue
        seen.add(tok.start)
        yield tok.text, tok.line, arguments(tokens, k + 1)
    # Every call the raw text shows outside comments must have been read: a
    # scan that lost its way (a quote in JSX text, say) must not go unnoticed.
    for m in re.finditer(r"(?:\.(?:__|_n)|(?<![\w$.])N_)\s*\(", src):
        at = m.start() + (1 if m.group().startswith(".") else 0)
        if at in seen or any(a <= at < b for a, b in comments):
            continue
        if re.match(r"(?:function|const)\s+N_", src[max(0, at - 9) : at + 2].lstrip()):
            continue
        raise ScanError(f"{path}:{src.count(chr(10), 0, at) + 1}: a call the scan did not read")


def from_sources(found: Found) -> None:
    for file in sorted(SOURCES.glob("*.ts*")):
        where = file.relative_to(ROOT).as_posix()
        src = file.read_text(encoding="utf-8")
        for name, line, args in calls(src, where):
            wanted = CALL_NAMES[name]
            literal = [a[0] for a in args[:wanted] if len(a) == 1 and a[0].kind == "str"]
            if len(literal) == wanted:
                found.add(
                    Message(literal[0].value, literal[1].value if wanted == 2 else None), where
                )
                continue
            first = args[0] if args else []
            expression = (
                src[first[0].start : first[-1].start + len(first[-1].text)] if first else ""
            )
            if (file.name, expression) not in DYNAMIC:
                found.problems.append(
                    f"{where}:{line}: {name}({expression}, …) is given a variable: pass a "
                    "string literal, or mark its values with N_ and list the call in "
                    "extract.py's DYNAMIC"
                )


def from_schema(found: Found) -> None:
    """What jupyterlab_server translates in our schema, in the context it uses."""
    from jupyterlab_server.translation_utils import translator

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    where = SCHEMA.relative_to(ROOT).as_posix()

    class Recorder:
        def pgettext(self, context: str, msgid: str) -> str:
            found.add(Message(msgid, context=context), where)
            return msgid

    # jupyterlab_server's own walk over the schema, with its selectors and ours.
    translator._translate_schema_strings(Recorder(), copy.deepcopy(schema))
    domain = schema.get("jupyter.lab.internationalization", {}).get("domain")
    if domain != DOMAIN:
        found.problems.append(f"{where}: jupyter.lab.internationalization.domain is not {DOMAIN}")


def extract() -> Found:
    found = Found()
    from_sources(found)
    from_schema(found)
    return found


def new_catalog(locale: str | None = None):  # -> babel Catalog
    """An empty catalog with this project's headers (the template's, or a
    language's when `locale` is given)."""
    from babel.messages.catalog import Catalog

    catalog = Catalog(
        locale=locale,
        domain=DOMAIN,
        project=DOMAIN,
        version=json.loads((ROOT / "package.json").read_text())["version"],
        copyright_holder="jupyter-session-ext developers",
        msgid_bugs_address="https://github.com/jupyter-session-ext/jupyter-session-ext/issues",
        last_translator="jupyter-session-ext developers",
        language_team=f"{locale} (jupyter-session-ext)" if locale else "",
        fuzzy=False,
    )
    catalog.header_comment = (
        f"# {'The ' + locale if locale else 'Template of the'} catalog of {DOMAIN}: the panel's"
        " and the settings'\n# words (labextension/i18n/extract.py keeps it in step).\n"
        "# Distributed under the same license as the jupyter_session_ext package."
    )
    return catalog


def template(found: Found):  # -> babel Catalog
    catalog = new_catalog()
    for message, places in sorted(found.messages.items(), key=lambda kv: kv[0].key):
        msgid = (message.msgid, message.plural) if message.plural else message.msgid
        catalog.add(
            msgid,
            locations=[(place, None) for place in sorted(places)],
            context=message.context,
        )
    return catalog


def messages_of(catalog) -> set[Message]:
    out = set()
    for entry in catalog:
        if not entry.id:
            continue
        if isinstance(entry.id, tuple | list):
            out.add(Message(entry.id[0], entry.id[1], entry.context))
        else:
            out.add(Message(entry.id, None, entry.context))
    return out


def read(path: Path, locale: str | None = None):
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        return read_po(f, locale=locale, domain=DOMAIN)


def write(path: Path, catalog) -> bool:
    """Write `catalog` as a .po file; False when the file already said that."""
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    write_po(buffer, catalog, width=96, ignore_obsolete=True, include_previous=False)
    data = buffer.getvalue()
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def catalogs() -> list[Path]:
    return sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--init", metavar="LANG", help="start a catalog for LANG (fr_FR…)")
    options = parser.parse_args(argv)
    try:
        found = extract()
    except ScanError as err:
        print(f"extract.py: {err}", file=sys.stderr)
        return 1
    if found.problems:
        print("\n".join(found.problems), file=sys.stderr)
        return 1
    pot = template(found)
    # The template is rewritten only when its messages changed: its date
    # would make every run a change.
    if not TEMPLATE.exists() or messages_of(read(TEMPLATE)) != set(found.messages):
        write(TEMPLATE, pot)
        print(f"wrote {TEMPLATE.relative_to(ROOT)} ({len(found.messages)} messages)")
    pot = read(TEMPLATE)
    paths = catalogs()
    if options.init:
        path = LOCALE / options.init / "LC_MESSAGES" / f"{DOMAIN}.po"
        if path.exists():
            print(f"{path.relative_to(ROOT)} exists", file=sys.stderr)
            return 1
        write(path, new_catalog(options.init))
        paths.append(path)
    for path in paths:
        catalog = read(path, locale=path.parts[-3])
        catalog.update(pot, no_fuzzy_matching=True)
        if write(path, catalog):
            print(f"updated {path.relative_to(ROOT)}")
        missing = [m for m in catalog if m.id and not all(_strings(m))]
        where = path.relative_to(ROOT)
        if missing:
            print(f"{where}: {len(missing)} of {len(catalog)} messages to translate:")
            for entry in missing:
                print(f"  {entry.id[0] if isinstance(entry.id, tuple | list) else entry.id!r}")
        else:
            print(f"{where}: all {len(catalog)} messages translated")
    return 0


def _strings(entry) -> list[str]:
    return list(entry.string) if isinstance(entry.string, tuple | list) else [entry.string]


if __name__ == "__main__":
    sys.exit(main())
