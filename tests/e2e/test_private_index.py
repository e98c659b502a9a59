"""A private index on 127.0.0.1 that wants basic auth; the credentials reach the build only as a
BuildKit secret (a netrc), and are found nowhere afterwards.

The build pushes the image with its provenance (mode=max: the whole LLB definition of the result)
and a registry cache (mode=max: every intermediate result). The scan reads, for the password and
for its base64 Authorization header: the progress output, every blob of the image and of the
cache in the registry (layers decompressed), the definition in the provenance, the frontend's
own log lines in the daemon's log, and the output of the builds that fail on purpose.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import secrets
import tarfile
import urllib.request
from pathlib import Path

import pytest

from .conftest import BASE_313, FRONTEND, buildx, run
from .localindex import serve
from .progress import vertices

USER = "ci-bot"
PASSWORD = "pw-" + secrets.token_hex(12)
TOKEN = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
DAEMON_LOG = Path("/var/lib/pylayers-testbed/logs/dockerd.log")
REGISTRY = "http://127.0.0.1:5000/v2"


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    idx, server = serve(tmp_path_factory.mktemp("private"), (USER, PASSWORD))
    salt = secrets.token_hex(8)  # new wheels: no layer of an earlier run is in the build cache

    def files(name: str, version: str) -> dict[str, bytes]:
        return {f"{name}/__init__.py": f"VERSION = {version!r}\nSALT = {salt!r}\n".encode()}
    idx.add("privdep", "1.0", files=files("privdep", "1.0"))
    idx.add("privdep", "2.0", files=files("privdep", "2.0"))
    idx.add("privpkg", "1.0", files=files("privpkg", "1.0"), requires=("privdep>=1",))
    yield idx, server, salt
    server.shutdown()


def context(workdir: Path, index_url: str, mount: str = "--mount=type=secret,id=netrc,target=/root/.netrc") -> Path:
    (workdir / "requirements.txt").write_text("privpkg\n")
    (workdir / "Dockerfile").write_text(
        f"# syntax={FRONTEND}\nFROM {BASE_313}\nCOPY requirements.txt .\n"
        f"RUN --network=host {mount} pip install --index-url {index_url} -r requirements.txt\n")
    return workdir


def netrc(tmp_path: Path, password: str = PASSWORD) -> Path:
    path = tmp_path / "netrc"
    path.write_text(f"machine 127.0.0.1\n  login {USER}\n  password {password}\n")
    return path


def test_credentials_only_as_a_secret_one_cached_layer_per_package_and_no_trace(
        private, workdir, tmp_path, image_name, docker_client):
    idx, server, salt = private
    ctx = context(workdir, idx.url)
    log_start = DAEMON_LOG.stat().st_size
    args = ("--allow", "network.host", "--secret", f"id=netrc,src={netrc(tmp_path)}", "--push",
            "--provenance=mode=max", "--cache-to", f"type=registry,ref={image_name}:cache,mode=max")
    first = buildx(ctx, *args, "-t", f"{image_name}:1").check()
    progress = vertices(first.output)
    assert run(docker_client, f"{image_name}:1", "python3", "-c",
               "import privdep, privpkg; print(privpkg.VERSION, privdep.VERSION)").strip() == "1.0 2.0"
    # both install a few bytes: each is alone in its tiny bucket (docs/design.md), privpkg's first
    assert {v.name for v in progress if v.ran and v.name.startswith("pylayers ")} == {
        "pylayers 1/2 privpkg 1.0 (py3 any)", "pylayers 2/2 privdep 2.0 (py3 any)"}
    paths = [path for path, granted in server.requests]
    assert all(granted for _, granted in server.requests)
    assert {"/simple/privpkg/", "/simple/privdep/", "/files/privdep-2.0-py3-none-any.whl",
            "/files/privpkg-1.0-py3-none-any.whl"} <= set(paths)

    wheels_before = sum(p.endswith(".whl") for p in paths)
    again = buildx(ctx, *args[:4], "-t", f"{image_name}:2").check()
    rerun = [v.name for v in vertices(again.output) if v.ran and v.name.startswith("pylayers ")]
    assert rerun == [] and sum(p.endswith(".whl") for p, _ in server.requests) == wheels_before
    assert [p for p, _ in server.requests[len(paths):]].count("/simple/privpkg/") == 1  # pages: every build

    blobs = registry_blobs(image_name, ("1", "cache"))
    assert sum(salt.encode() in data for data in blobs.values()) >= 2  # package layers are read unpacked
    definition = provenance_definition(blobs)
    assert any("netfetch.py" in json.dumps(op) for op in definition)  # the downloads are in it
    daemon_log = DAEMON_LOG.read_bytes()[log_start:]
    assert b"privpkg" in daemon_log  # the frontend's log lines of these builds
    where = {"progress": first.output.encode() + again.output.encode(), "definition": json.dumps(definition).encode(),
             "daemon log": daemon_log, **blobs}
    assert not [name for name, data in where.items() if PASSWORD.encode() in data or TOKEN.encode() in data]


def test_wrong_or_missing_credentials_say_what_to_do_and_show_no_password(private, workdir, tmp_path):
    idx, _, _ = private
    ctx = context(workdir, idx.url)
    wrong = "wrong-" + PASSWORD
    refused = buildx(ctx, "--allow", "network.host", "--secret", f"id=netrc,src={netrc(tmp_path, wrong)}")
    assert refused.returncode != 0
    assert (f"cannot fetch {idx.url}privpkg/: HTTP 401: the index refused the credentials for 127.0.0.1 in "
            "the netrc of secret netrc") in refused.output
    assert "RUN --network=host --mount=type=secret" in refused.output  # the snippet shows the step
    assert wrong not in refused.output and PASSWORD not in refused.output

    missing = buildx(ctx, "--allow", "network.host")
    assert missing.returncode != 0
    assert (f"cannot fetch {idx.url}privpkg/: HTTP 401: the index asks for credentials and the build has no "
            "secret netrc: build with --secret id=netrc,src=<netrc file>") in missing.output

    unmounted = buildx(context(workdir, idx.url, mount=""), "--allow", "network.host")
    assert unmounted.returncode != 0
    assert (f"cannot fetch {idx.url}privpkg/: HTTP 401: the index asks for credentials; give them as a netrc "
            "secret: mount it on the install step") in unmounted.output


def registry_blobs(image: str, tags: tuple[str, ...]) -> dict[str, bytes]:
    """Every manifest and blob the tags reach in the test registry, gzip layers decompressed."""
    repo = image.split("/", 1)[1]
    found: dict[str, bytes] = {}
    pending = [f"/{repo}/manifests/{tag}" for tag in tags]
    while pending:
        path = pending.pop()
        data = _get(path)
        found[path] = data
        if "/manifests/" not in path:
            continue
        manifest = json.loads(data)
        listed = manifest.get("manifests", [])  # a registry cache lists its layers here too
        pending += [f"/{repo}/manifests/{ref['digest']}" for ref in listed if _is_manifest(ref["mediaType"])]
        blobs = [ref for ref in listed if not _is_manifest(ref["mediaType"])]
        for blob in [manifest.get("config"), *manifest.get("layers", []), *blobs]:
            if blob and f"/{repo}/blobs/{blob['digest']}" not in found:
                body = _get(f"/{repo}/blobs/{blob['digest']}")
                found[f"/{repo}/blobs/{blob['digest']}"] = _unpacked(body, blob["mediaType"])
    return found


def _is_manifest(media_type: str) -> bool:
    return media_type.endswith(("manifest.v1+json", "index.v1+json", "manifest.v2+json", "list.v2+json"))


def _get(path: str) -> bytes:
    accept = ", ".join(("application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                        "application/vnd.docker.distribution.manifest.v2+json",
                        "application/vnd.docker.distribution.manifest.list.v2+json"))
    with urllib.request.urlopen(urllib.request.Request(REGISTRY + path, headers={"Accept": accept})) as answer:
        return answer.read()


def _unpacked(body: bytes, media_type: str) -> bytes:
    """A gzip layer as the concatenation of its files' names and contents; other blobs as they are."""
    if "gzip" not in media_type:
        return body
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(body))) as tar:
        for member in tar:
            out.write(member.name.encode() + b"\n")
            if member.isfile():
                out.write(tar.extractfile(member).read())
    return out.getvalue()


def provenance_definition(blobs: dict[str, bytes]) -> list:
    for data in blobs.values():
        try:
            statement = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(statement, dict) and "predicate" in statement:
            return statement["predicate"]["buildConfig"]["llbDefinition"]
    raise AssertionError("no provenance with the build's definition in the registry")

