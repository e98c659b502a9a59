"""Property-based fuzzing of the user-input parsers: requirements files and Dockerfiles.

Both parsers read text the user wrote, so whatever it holds they must either return or raise a
FrontendError (which the user reads), never crash, loop or hang. Each property runs
PYLAYERS_FUZZ_EXAMPLES examples (1500 by default; a nightly run may ask for 50000).
"""

from __future__ import annotations

import os
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion

from frontend.dockerfile import find_install_steps, rewrite, stage_base, stage_prefix
from frontend.dockerfile.parser import parse, stage_name
from frontend.errors import FrontendError, InputError, InputErrors
from frontend.inputs.requirements import MAX_FILES_READ, parse_requirements

FUZZ = settings(max_examples=int(os.environ.get("PYLAYERS_FUZZ_EXAMPLES", "1500")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def fragments(*values: str) -> st.SearchStrategy[str]:
    return st.sampled_from(values)


def joined(parts: st.SearchStrategy[str], seps: tuple[str, ...], max_size: int) -> st.SearchStrategy[str]:
    """Parts joined by separators drawn one by one."""
    pairs = st.lists(st.tuples(parts, st.sampled_from(seps)), max_size=max_size)
    return pairs.map(lambda ps: "".join(p + s for p, s in ps))


# requirements files

MAIN = "/app/requirements.txt"
FILES = ("/app/other.txt", "/app/sub/inc.txt", "/app/cons.txt")
SHA = "sha256:" + "ab" * 32
NAME = fragments("flask", "Requests", "zope.interface", "my_pkg", "a-b", "A", "-x", "9lives", "pkg.", "${VAR}")
EXTRAS = fragments("", "[socks]", "[a,B]", "[", "[]")
OP = fragments("==", "===", ">=", "~=", "!=", " == ", "=", "=>", "")
VERSION = fragments("1.0", "2.34.2", "1.0.*", "1!2.0", "1.0rc1", "1.0.post1+local", "v1", "1..0", "${VER}", "")
MARKER = fragments("", ' ; python_version >= "3.8"', ";sys_platform=='linux'", "; bogus", ";", ' ; extra == "x"')
PATH = fragments("other.txt", "sub/inc.txt", "inc.txt", "../app/requirements.txt", "requirements.txt", "cons.txt",
                 "missing.txt", "/app/other.txt", "https://x/r.txt", "${FILE}", "''", '"a b.txt"', "sub/../other.txt",
                 "sub", "binary.txt", "denied.txt", "./sub/inc.txt", "sub/sub/inc.txt")
OPTION = st.one_of(
    fragments("--pre", "--no-index", "-e .", "-f ./wheels", "-i https://x/simple", "--index-url=https://y/s",
              "--extra-index-url https://z/simple", "--unknown", "-r", "--hash", "--require-hashes", "-q", "--",
              "--no-binary :all:", "--hash=" + SHA, "--hash " + SHA.upper(), "--hash=sha256:abc", "--hash=md5:00"),
    st.builds("{} {}".format, fragments("-r", "-c", "--requirement", "--constraint", "-r"), PATH),
    st.builds("--requirement={}".format, PATH))
REQUIREMENT = st.builds(lambda *parts: "".join(parts), NAME, EXTRAS, OP, VERSION, MARKER)
COMMENT = fragments(" # note", "#", " #-r other.txt", "# x \\", "#!")
PIECE = st.one_of(REQUIREMENT, OPTION, COMMENT, fragments("${VAR}", "$VAR", "${lower}", "${}", "${VER", "\\", "'", '"',
                                                         "./pkg", "https://x/y.whl", "pkg @ https://x/p.whl", "\t"),
                  st.text(max_size=6))
REQUIREMENTS_TEXT = joined(PIECE, (" ", "", "  ", "\n", "\n", "\r\n", " \\\n", "\\\n", "\n\n"), 16)
ENV = st.fixed_dictionaries({"VAR": st.one_of(REQUIREMENT, OPTION, st.text(max_size=4)), "FILE": PATH,
                             "VER": VERSION})


class Reader:
    """read() over a dict; by_name answers for any directory, like a symlink loop (`sub -> .`)."""

    def __init__(self, files: dict[str, bytes], by_name: bool) -> None:
        self.files, self.by_name = files, by_name
        self.count = 0  # reads, bounded however the files include each other

    def __call__(self, path: str) -> bytes:
        self.count += 1
        name = path.rsplit("/", 1)[-1]
        if name == "denied.txt":
            raise PermissionError(13, "Permission denied", path)
        if name == "binary.txt":
            return b"\xff\xfeflask==1.0\n"
        key = next((p for p in (MAIN, *FILES) if p.rsplit("/", 1)[-1] == name), None) if self.by_name else path
        if key not in self.files:
            raise FileNotFoundError(path)
        return self.files[key]


def check_requirements(texts: list, env: dict[str, str], by_name: bool) -> None:
    """Each of `texts` (str or bytes) is a file: the main one, then those it may include."""
    files = {path: t if isinstance(t, bytes) else t.encode() for path, t in zip((MAIN, *FILES), texts)}
    read = Reader(files, by_name)
    try:
        result = parse_requirements(MAIN, read, env)
    except FrontendError as exc:
        assert isinstance(exc, (InputError, InputErrors)), repr(exc)
        for error in exc.errors if isinstance(exc, InputErrors) else (exc,):
            assert isinstance(error, InputError) and error.line >= 0 and str(error)
        result = None
    assert read.count <= MAX_FILES_READ
    if result is None:
        return
    for pin in result.pins + result.constraints:
        assert pin.line >= 1 and pin.name
        assert all(re.fullmatch("sha256:[0-9a-f]{64}", h) for h in pin.hashes)
    for pin in result.pins:  # a version only for exact pins and URL wheels, one their specifier admits
        assert not pin.version or pin.url or admits(pin.specifier, pin.version), pin


def admits(specifier: str, version: str) -> bool:
    """`version` satisfies `specifier` (merged pins may spell it otherwise: ==v1 and ==1.0 give ==1.0)."""
    try:
        return SpecifierSet(specifier).contains(version, prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return version in specifier  # ===arbitrary strings


@FUZZ
@given(st.one_of(st.text(), st.binary()), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3))
def test_requirements_from_arbitrary_text(text, env):
    check_requirements([text], env, by_name=False)


@FUZZ
@given(st.lists(REQUIREMENTS_TEXT, min_size=1, max_size=4), ENV, st.booleans())
def test_requirements_from_realistic_fragments(texts, env, by_name):
    check_requirements(texts, env, by_name)


INCLUDED = fragments("other.txt", "sub/inc.txt", "requirements.txt", "../other.txt", "cons.txt", "./other.txt")
INCLUDE = st.builds("{} {}\n".format, fragments("-r", "-c"), INCLUDED)


@FUZZ
@given(st.lists(st.lists(INCLUDE, max_size=4).map("".join), min_size=4, max_size=4), st.booleans())
def test_include_graphs_terminate(texts, by_name):
    """Cycles through paths and through symlink-like loops end in an error, without exploding."""
    check_requirements(texts, {}, by_name)


# Dockerfiles

DIRECTIVES = ("# syntax=docker/dockerfile:1", "#syntax = example.com/pylayers:1 ", "# escape=`", "# escape=\\",
              "# check=skip=all", "#Check = error=true")
FROM = fragments("FROM python:3.12-slim", "FROM python:3.12 AS build", "from --platform=$BUILDPLATFORM py AS Base",
                 "FROM build", "FROM scratch", "FROM img AS", "FROM", "FROM a AS b c", "FROM pylayers-stage AS x")
EXE = fragments("pip", "pip3", "pip3.12", "python -m pip", "/opt/venv/bin/pip", "python3.12 -m pip", "uv pip",
                "venv/bin/pip", "$PIP", "pip3 -q")
PIP_ARG = fragments("-r requirements.txt", "--requirement=/app/r.txt", "-rreq.txt", "--no-cache-dir", "-U", "-qU",
                    "--user", "-c c.txt", "-i https://x/simple", "--no-deps", "flask", "-e .", "-r", "-r $REQ",
                    "--extra-index-url=https://y/simple", "-r 'a b.txt'", '-r "r.txt"', "--req=r.txt", "-r*.txt")
AROUND = fragments("apt-get update", "cd /app", "echo 'a && b'", "X=1", "rm -rf /root/.cache", "echo done",
                   "echo x | tee log", "true > /dev/null 2>&1", "echo $(id)", "echo a; echo b", "set -e",
                   "echo `id`", "[ -f x ]", "-v", "echo \\")
RUN_FLAG = fragments("", "--mount=type=cache,target=/root/.cache ", "--network=none ", "--security=insecure ",
                     "--mount=type=bind,source=.,target=/src ", "--mount=type=secret,id=pip ", "--unknown ")
OTHER = fragments("COPY . /app", "COPY --from=build / /", "ARG REQ=requirements.txt", "ENV PIP=pip", "WORKDIR /app",
                  "", "   ", "# comment", "#", "RUN true\n# syntax=late", "RUN echo hi", "CMD [\"python\"]",
                  "USER 1000", "RUN <<EOF\npip install -r r.txt\nEOF", "RUN <<-EOT bash\n\tpip install -r r.txt\n\tEOT",
                  "COPY <<EOF /app/requirements.txt\nflask==3.0\nEOF",
                  "RUN cat <<'A' > /x\nRUN pip install -r r.txt\nA",
                  "RUN echo '<<X' && pip install -r r.txt", "RUN echo 'x <<A y'",
                  "RUN cat <<'one two' > /x\nRUN pip install -r r.txt\none two", "RUN pip install -r r.txt <<EOF\nEOF",
                  "RUN [\"pip\", \"install\", \"-r\", \"r.txt\"]", "RUN [\"pip\", \"install\"", "RUN []", "RUN")


JOINTS = {e: st.sampled_from((" ",) * 8 + (f" {e}\n  ", f"{e}\n", f" {e}\n# c\n  ", f" {e}\n\n ", f" {e} \n"))
          for e in "\\`"}


@st.composite
def install_runs(draw, escape: str) -> str:
    flag, exe = draw(RUN_FLAG), draw(EXE)
    args = draw(st.lists(PIP_ARG, min_size=1, max_size=4))
    before = draw(st.lists(AROUND, max_size=2)) + [f"{exe} install {' '.join(args)}"]
    words = f"RUN {flag}{' && '.join(before + draw(st.lists(AROUND, max_size=2)))}".split(" ")
    breaks = draw(st.lists(JOINTS[escape], min_size=len(words) - 1, max_size=len(words) - 1))
    return words[0] + "".join(b + w for b, w in zip(breaks, words[1:]))


def directive_key(line: str) -> str:
    return line[1:].split("=")[0].strip().lower()


@st.composite
def dockerfiles(draw) -> tuple[str, str]:
    """A Dockerfile and its rewrite with no replacements (the `# syntax=` directive line dropped)."""
    directives = draw(st.lists(st.sampled_from(DIRECTIVES), max_size=3, unique_by=directive_key))
    directives += draw(st.sampled_from([[], ["# syntax=repeated"]]))  # BuildKit refuses it; still dropped
    escape = "`" if "# escape=`" in directives else "\\"
    body = draw(st.lists(INSTRUCTION[escape], max_size=10))
    if draw(st.booleans()):
        body.insert(0, draw(FROM))
    nl, end = draw(st.sampled_from(["\n", "\r\n"])), draw(st.sampled_from(["\n", "", "\r\n"]))
    lines = [line + nl for line in directives] + [b.replace("\n", nl) + nl for b in body]
    if lines:
        lines[-1] = lines[-1][: -len(nl)] + end
    if lines and draw(st.booleans()):
        lines[0] = "\ufeff" + lines[0]
    expected = [line for i, line in enumerate(lines) if i >= len(directives) or "syntax" not in directives[i].lower()]
    return "".join(lines), "".join(expected)


INSTRUCTION = {e: st.one_of(FROM, OTHER, install_runs(e)) for e in "\\`"}


def steps_or_error(text: str):
    try:
        return find_install_steps(text, "Dockerfile")
    except FrontendError as exc:
        assert isinstance(exc, InputError) and exc.file == "Dockerfile" and exc.line >= 1
        return None


def drops_leading_syntax_lines(text: str, out: str) -> bool:
    """`out` is `text` less some of its leading `#` lines, each one reading `# syntax=...`."""
    lines, kept = (re.findall(".*?\n|.+$", t) for t in (text, out))
    at = 0
    for index, line in enumerate(lines):
        if at < len(kept) and line == kept[at]:
            at += 1
            continue
        leading = all(x.removeprefix("\ufeff").startswith("#") for x in lines[:index])
        if not (leading and re.match(r"\ufeff?#\s*syntax\s*=", line, re.IGNORECASE)):
            return False
    return at == len(kept)


def expanded(doc, steps, contexts: tuple[str, ...]) -> list[tuple[str, str]]:
    """The (keyword, args) of the instructions once `steps` are replaced by their COPY lines."""
    replaced = {s.key: s for s in steps}
    out = []
    for instr in doc.instructions:
        step = replaced.get(instr.start)
        if step is None:
            out.append((instr.keyword, instr.args))
            continue
        out += [("run", " ".join(step.run_flags + (step.before,)))] if step.before else []
        out += [("copy", f"--link --from={c} / /") for c in contexts]
        out += [("run", " ".join(step.run_flags + (step.after,)))] if step.after else []
    return out


def check_dockerfile(text: str, expected: str | None, pick: st.DataObject) -> None:
    steps = steps_or_error(text)
    out = rewrite(text, {})
    if expected is not None:
        assert out == expected
    else:
        assert drops_leading_syntax_lines(text, out)
    if not steps:
        return
    chosen = pick.draw(st.lists(st.sampled_from(steps), unique=True, min_size=1), label="replaced")
    contexts = pick.draw(st.sampled_from([("ctx-a", "ctx-b"), ("ctx-a",), ()]), label="contexts")
    rewritten = rewrite(text, {s.key: contexts for s in chosen})
    assert [(i.keyword, i.args) for i in parse(rewritten).instructions] == expanded(parse(text), chosen, contexts)
    others = [s for s in steps if s not in chosen]
    again = find_install_steps(rewritten, "Dockerfile")
    assert [(s.options, s.interpreter, s.before, s.after) for s in again] == \
        [(s.options, s.interpreter, s.before, s.after) for s in others]
    assert rewrite(rewritten, {}) == rewritten
    for step in steps:
        check_stage_cuts(text, step)


def same_instructions(cut, original) -> bool:
    """The cut's instructions are the original ones, FROMs maybe named (`AS pylayers-stage`)."""
    return len(cut) == len(original) and all(
        a.keyword == b.keyword and (a.args == b.args or a.keyword == "from" and a.args.startswith(b.args))
        for a, b in zip(cut, original))


def check_stage_cuts(text: str, step) -> None:
    """The cuts hold what precedes the step (the prefix: with its `before` run), and no RUN past it."""
    before = [i for i in parse(text).instructions if i.start < step.key]
    froms = [i for i in before if i.keyword == "from"]
    prefix, target = stage_prefix(text, step)
    cut = parse(prefix).instructions
    assert same_instructions(cut[:len(before)], before)
    assert [(i.keyword, i.args) for i in cut[len(before):]] == (
        [("run", " ".join(step.run_flags + (step.before,)))] if step.before else [])
    base, base_target = stage_base(text, step)
    assert base_target == target
    assert same_instructions(parse(base).instructions, before[:before.index(froms[-1]) + 1])
    names = [stage_name(i.args) for i in froms if stage_name(i.args)]
    if len(froms[-1].args.split()) in (1, 3) and len(names) == len(set(names)):  # a FROM BuildKit accepts
        assert stage_name([i for i in cut if i.keyword == "from"][-1].args) == target
        assert [stage_name(i.args) for i in cut if i.keyword == "from"].count(target) == 1


DOCKERFILE_BITS = st.sampled_from(list("RUNFROMpipinstal -r\\\n\t#<>EOF'\"`&|;[]{}$=\r\ufeffAS.txt/") +
                                   ["RUN ", "FROM a\n", "pip install ", "-r r.txt", "<<EOF", "\nEOF\n", " && ",
                                    "# syntax=x\n", "# escape=`\n", "--mount=type=cache "])


@FUZZ
@given(st.text(), st.data())
def test_dockerfile_from_arbitrary_text(text, pick):
    check_dockerfile(text, None, pick)


@FUZZ
@given(st.lists(DOCKERFILE_BITS, max_size=60).map("".join), st.data())
def test_dockerfile_from_dockerfile_bits(text, pick):
    check_dockerfile(text, None, pick)


@FUZZ
@given(dockerfiles(), st.data())
def test_dockerfile_from_a_grammar(case, pick):
    check_dockerfile(*case, pick)
