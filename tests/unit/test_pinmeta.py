from __future__ import annotations

from frontend.resolve.pinmeta import choice_metadata
from frontend.resolve.wheels import PackageChoice

from .fakeindex import Release, sha, wheel


def choice(name: str, announced: bool) -> PackageChoice:
    body = wheel(name, Release("1.0"))
    return PackageChoice(name, "1.0", f"{name}-1.0-py3-none-any.whl", f"https://f/{name}-1.0-py3-none-any.whl",
                         sha(body), "py3-none-any", metadata=announced, metadata_sha256="9" * 64 if announced else None)


def test_announced_files_then_guesses_then_wheels():
    pages, files = [], []
    served = {"https://f/b-1.0-py3-none-any.whl.metadata": b"Name: b\n"}

    def fetch_all(urls):
        pages.append(list(urls))
        return [served.get(u) for u in urls]

    def fetch_files(items):
        files.append(list(items))
        return [b"Name: a\n" if u.endswith(".metadata") else wheel("c", Release("1.0")) for u, _ in items]

    found = choice_metadata(fetch_all, fetch_files, [choice("a", True), choice("b", False), choice("c", False)])
    assert found == {"a": b"Name: a\n", "b": b"Name: b\n",
                     "c": b"Metadata-Version: 2.1\nName: c\nVersion: 1.0\n"}
    assert pages == [["https://f/b-1.0-py3-none-any.whl.metadata", "https://f/c-1.0-py3-none-any.whl.metadata"]]
    assert files == [[("https://f/a-1.0-py3-none-any.whl.metadata", "9" * 64)],
                     [("https://f/c-1.0-py3-none-any.whl", choice("c", False).sha256)]]


def test_with_lazy_wheel_reads_nothing_is_guessed_and_each_wheel_is_read_by_its_checksum():
    pages, files, lazy = [], [], []

    def fetch_all(urls):
        pages.append(list(urls))
        return [None for _ in urls]

    def fetch_files(items):
        files.append(list(items))
        return [b"Name: a\n" for _ in items]

    def wheel_metadata(items):
        lazy.append(list(items))
        return [f"Name: {f.split('-')[0]}\n".encode() for _, _, f in items]

    chosen = [choice("a", True), choice("b", False), choice("c", False)]
    found = choice_metadata(fetch_all, fetch_files, chosen, wheel_metadata)
    assert found == {"a": b"Name: a\n", "b": b"Name: b\n", "c": b"Name: c\n"}
    assert pages == []  # no .metadata guess: on a mirror each one would be a 404 in every build
    assert files == [[("https://f/a-1.0-py3-none-any.whl.metadata", "9" * 64)]]
    assert lazy == [[(c.url, c.sha256, c.filename) for c in chosen[1:]]]


def test_known_metadata_comes_first_and_only_the_rest_is_fetched():
    files, lazy = [], []

    def fetch_files(items):
        files.append(list(items))
        return [b"Name: a\n" for _ in items]

    def wheel_metadata(items):
        lazy.append(list(items))
        return [b"Name: c\n" for _ in items]

    chosen = [choice("a", True), choice("b", False), choice("c", False)]
    known = {"b": b"Name: b\n", "z": b"Name: z\n"}
    found = choice_metadata(None, fetch_files, chosen, wheel_metadata, known=lambda choices: known)
    assert found == {"a": b"Name: a\n", "b": b"Name: b\n", "c": b"Name: c\n", "z": b"Name: z\n"}
    assert files == [[("https://f/a-1.0-py3-none-any.whl.metadata", "9" * 64)]]
    assert lazy == [[(chosen[2].url, chosen[2].sha256, chosen[2].filename)]]
    files.clear()
    assert choice_metadata(None, fetch_files, chosen[1:2], wheel_metadata, known=lambda c: known)["b"] == b"Name: b\n"
    assert files == []  # all known: nothing is fetched
