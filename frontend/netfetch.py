"""Downloads with credentials from a netrc, run by the build stage's own Python in an exec.

BuildKit's http source (0.13) cannot send credentials, and the frontend has no network and never
sees a secret. When an install step mounts a netrc secret, each download runs as an exec of this
script with that secret mounted: the credential stays in the mounted file, never in the LLB, in
an argument, in the output or in a message. Standard library only, Python 3.7+.

    python3 netfetch.py NETRC SECRET_ID OUT MODE JSON

JSON is a list of [url, sha256 or "", file name]. Each body is written to OUT/<file name>; a body
whose sha256 is given must match it. MODE "files": any failure ends with exit status 1 (so that
BuildKit never caches a failed download) after a line on stderr naming the URL. MODE "report":
a failure is written to OUT/<file name>.failed as JSON {"status": HTTP status or null, "reason"}
for the frontend to read (pages: a 404 is an answer, not an error). MODE "reuse" (no secret:
NETRC and SECRET_ID are empty) fetches index pages for pagereuse.py, see reuse().
"""

import base64
import contextlib
import functools
import hashlib
import json
import netrc
import os
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor

ATTEMPTS = 4
BACKOFF = 1.0
TIMEOUT = 60.0  # seconds without progress on one connection (not part of any cache key)
PARALLEL = 8
REUSE_PARALLEL = 16
REUSE_TIMEOUT = 5.0  # seconds without progress; then the frontend fetches the pages itself
REUSE_INDEX = "pages.json"
GROUPED = ".grouped"  # a page's anchors grouped by version, next to it (pages.json: "groups")
ACCEPT = "text/html"


class Failed(Exception):
    def __init__(self, reason, status=None, url=None, sent=False):
        Exception.__init__(self, reason)
        self.reason, self.status = reason, status
        self.url, self.sent = url, sent  # the URL that answered (after redirects); credentials sent?


def credentials(path):
    """host -> (login, password) from the netrc at `path` (none when the secret is absent)."""
    if not path or not os.path.exists(path):
        return {}
    try:
        parsed = netrc.netrc(path)
    except (netrc.NetrcParseError, OSError) as exc:  # the message may quote the file: never show it
        raise Failed("the netrc secret cannot be read (%s at line %s)" % (
            type(exc).__name__, getattr(exc, "lineno", "?")))
    found = {host: (entry[0], entry[2]) for host, entry in parsed.hosts.items()}
    default = parsed.hosts.get("default")
    if default:
        found["*"] = (default[0], default[2])
    return found


def redact(url):
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def authorization(url, creds):
    host = urllib.parse.urlsplit(url).hostname or ""
    entry = creds.get(host) or creds.get("*")
    if not entry:
        return None
    token = base64.b64encode(("%s:%s" % (entry[0] or "", entry[1] or "")).encode("utf-8"))
    return "Basic " + token.decode("ascii")


class Redirects(urllib.request.HTTPRedirectHandler):
    """Redirects get the credentials of their own host, never those of the first one."""

    def __init__(self, creds):
        self.creds = creds

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = urllib.request.HTTPRedirectHandler.redirect_request(self, req, fp, code, msg, headers, newurl)
        if new is not None:
            new.remove_header("Authorization")
            auth = authorization(newurl, self.creds)
            if auth:
                new.add_unredirected_header("Authorization", auth)
        return new


_TLS: list = []  # the one context, once made
_TLS_LOCK = threading.Lock()


def tls_context():
    """The one TLS context of every request. urllib makes a context per connection when given
    none, and making one loads the CA bundle: 16 ms of CPU each here, 58 pages 0.95 CPU-s of
    an exec that had 2 CPUs and took 1.1 s. Shared by the threads (an SSLContext may be); the
    lock keeps their first requests, which come at once, from making one each."""
    with _TLS_LOCK:
        if not _TLS:
            import ssl  # here: a Python built without it can still fetch http:// URLs

            context = ssl.create_default_context()
            context.set_alpn_protocols(["http/1.1"])  # as http.client sets up a context of its own
            if getattr(context, "post_handshake_auth", None) is not None:
                context.post_handshake_auth = True
            _TLS.append(context)
        return _TLS[0]


def opener(creds):
    handlers = [Redirects(creds)]
    if hasattr(urllib.request, "HTTPSHandler"):  # none without ssl
        handlers.append(urllib.request.HTTPSHandler(context=tls_context()))
    return urllib.request.build_opener(*handlers)


def get(url, creds, timeout, seen=None):
    """The body of `url`; Failed with the HTTP status or the network error otherwise. `seen`
    (a dict) gets the answer's Cache-Control header."""
    request = urllib.request.Request(url, headers={"Accept": ACCEPT, "User-Agent": "pylayers"})
    auth = authorization(url, creds)
    if auth:
        request.add_unredirected_header("Authorization", auth)
    try:
        with opener(creds).open(request, timeout=timeout) as answer:
            if seen is not None:
                seen["cache_control"] = answer.headers.get("Cache-Control")
            return answer.read()
    except urllib.error.HTTPError as exc:
        answered = exc.geturl() or url
        raise Failed("HTTP %d" % exc.code, exc.code, answered, authorization(answered, creds) is not None)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Failed(str(getattr(exc, "reason", exc)))


def advice(failure, url, secret_id, netrc_given):
    """What the user reads for `failure`: for 401/403, what is wrong with the credentials."""
    if failure.status not in (401, 403):
        return failure.reason
    host = urllib.parse.urlsplit(failure.url or url).hostname
    if failure.sent:
        what = "the index refused the credentials for %s in the netrc of secret %s" % (host, secret_id)
    elif not netrc_given:
        what = ("the index asks for credentials and the build has no secret %s: build with "
                "--secret id=%s,src=<netrc file>" % (secret_id, secret_id))
    else:
        what = ("the index asks for credentials and the netrc of secret %s has none for %s: add a line "
                "`machine %s login <user> password <password>`" % (secret_id, host, host))
    return "%s: %s" % (failure.reason, what)


def fetch(item, creds, timeout, sleep=time.sleep, attempts=ATTEMPTS, seen=None):
    """One body, retried (bounded, with backoff) on 5xx, network errors and checksum mismatches."""
    url, sha256 = item[0], item[1]
    delay = BACKOFF
    for attempt in range(1, attempts + 1):
        try:
            body = get(url, creds, timeout, seen)
            if sha256 and hashlib.sha256(body).hexdigest() != sha256:
                raise Failed("the body does not match its checksum (expected sha256:%s, got sha256:%s)"
                             % (sha256, hashlib.sha256(body).hexdigest()))
            return body
        except Failed as exc:
            final = exc.status is not None and exc.status < 500
            if final or attempt == attempts:
                raise
            sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def write(path, data):
    with open(path + ".part", "wb") as out:
        out.write(data)
    os.replace(path + ".part", path)


@contextlib.contextmanager
def lookups_once(urls):
    """Each host name looked up once, before the threads start. Parallel lookups of one name in a
    build container stalled 5 s each here (glibc's A and AAAA queries on one socket, an answer
    dropped, the resolver's timeout): 58 pages took 5.5 s with 16 threads, 0.4 s with this."""
    original = socket.getaddrinfo
    socket.getaddrinfo = functools.lru_cache(maxsize=None)(original)
    try:
        for url in urls:
            parts = urllib.parse.urlsplit(url)
            try:
                socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), 0,
                                   socket.SOCK_STREAM)
            except (OSError, ValueError):
                pass  # the request says what is wrong
        yield
    finally:
        socket.getaddrinfo = original


_ANCHOR = re.compile(r"<a\b[^>]*>([^<]*)</a\s*>", re.IGNORECASE)  # as resolve/index.py's
_RELEASE = re.compile(r"v?(\d+(?:\.\d+)*)")
_SDIST_EXT = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar")
ANY_VERSION = "*"  # the group of files whose version a name does not tell for sure: always read


@functools.lru_cache(maxsize=1 << 16)  # each file of a version asks again: 72,583 calls, 0.22 s for 58 pages
def version_key(version):
    """A coarse key of a version: its release numbers without trailing zeros ("2.9.0.post0" and
    "2.9" are "2.9", "v1.0" is "1"); "" when it starts with none. The frontend keys pins so."""
    match = _RELEASE.match(version.strip().lower())
    if not match:
        return ""
    parts = [str(int(p)) for p in match.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == "0":
        parts.pop()
    return ".".join(parts)


def file_key(filename, project):
    """The version_key of a file of `project` (a normalized name) from its name, or ANY_VERSION."""
    if filename.endswith(".whl"):
        parts = filename.split("-")
        return (version_key(parts[1]) if len(parts) in (5, 6) else "") or ANY_VERSION
    for ext in _SDIST_EXT:
        if filename.lower().endswith(ext):
            name, _, version = filename[:-len(ext)].rpartition("-")
            if re.sub(r"[-_.]+", "-", name).lower() == project and version_key(version):
                return version_key(version)
    return ANY_VERSION


def grouped(body, url):
    """An HTML page as (its text before the first anchor, its anchors grouped by file_key, as
    bytes, with {key: [offset, length]}); None when its anchors cannot be told apart this way."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    anchors = list(_ANCHOR.finditer(text))
    if not anchors or text.lower().count("<a") != len(anchors) or "&#" in text:
        return None
    project = re.sub(r"[-_.]+", "-", url.rstrip("/").rsplit("/", 1)[-1]).lower()
    groups = {}
    for match in anchors:
        groups.setdefault(file_key(match.group(1).strip(), project), []).append(match.group(0))
    data, index = [], {}
    offset = 0
    for key in sorted(groups):
        chunk = "\n".join(groups[key]).encode("utf-8") + b"\n"
        index[key] = [offset, len(chunk)]
        data.append(chunk)
        offset += len(chunk)
    return text[:anchors[0].start()], b"".join(data), index


def reuse(out, items, timeout=REUSE_TIMEOUT):
    """Mode "reuse": index pages for later builds, one try each (the frontend fetches whatever is
    missing itself), zlib-compressed (the frontend reads a tenth of the bytes: 21 MB of pages
    took 0.2-0.9 s to read). OUT/pages.json says, per file name, the answer's Cache-Control
    header and when it came, or why there is no page; for an HTML page also its head and where
    each version's anchors are in OUT/<file name>.grouped (grouped()), so that a build reads
    the few anchors of its pins, not 21 MB of pages. Exit status 0."""
    gave_up = threading.Event()  # one page missing, none is used: the others are not asked

    def one(item):
        answered = {"fetched": time.time()}
        try:
            if gave_up.is_set():
                raise Failed("not asked: another page failed")
            body = fetch(item, {}, timeout, attempts=1, seen=answered)
            write(os.path.join(out, item[2]), zlib.compress(body, 1))
            split = grouped(body, item[0])
            if split is not None:  # the frontend reads the head and the groups of its pins only
                write(os.path.join(out, item[2] + GROUPED), split[1])
                answered["head"], answered["groups"] = split[0], split[2]
        except Failed as exc:
            gave_up.set()
            answered["failed"] = {"status": exc.status, "reason": exc.reason}
        return item[2], answered

    with lookups_once(i[0] for i in items), \
            ThreadPoolExecutor(max_workers=min(REUSE_PARALLEL, max(1, len(items)))) as pool:
        found = dict(pool.map(one, items))
    write(os.path.join(out, REUSE_INDEX), json.dumps(found, sort_keys=True).encode("utf-8"))
    return 0


def run(netrc_path, secret_id, out, mode, items, timeout=TIMEOUT, sleep=time.sleep):
    """Exit status: 0, or 1 when a download failed in mode "files" (or the netrc is unreadable)."""
    if mode == "reuse":
        return reuse(out, items)
    try:
        creds = credentials(netrc_path)
    except Failed as exc:
        sys.stderr.write("pylayers: secret %s: %s\n" % (secret_id, exc.reason))
        return 1

    given = bool(netrc_path) and os.path.exists(netrc_path)

    def one(item):
        url, _, filename = item
        try:
            write(os.path.join(out, filename), fetch(item, creds, timeout, sleep))
            return None
        except Failed as exc:
            reason = advice(exc, url, secret_id, given)
            if mode == "report":
                write(os.path.join(out, filename + ".failed"),
                      json.dumps({"status": exc.status, "reason": reason}).encode("utf-8"))
                return None
            return "pylayers: %s: %s" % (redact(url), reason)

    with lookups_once(i[0] for i in items), ThreadPoolExecutor(max_workers=min(PARALLEL, max(1, len(items)))) as pool:
        errors = [e for e in pool.map(one, items) if e]
    for error in errors:
        sys.stderr.write(error + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])))
