"""Run inside a base image: pip's own answer (`pip install --dry-run --report`) for each file given.

Prints one JSON object: file → [[name, version, url], ...] (or {"error": text} when pip fails).
"""

import json
import re
import subprocess
import sys

answers = {}
for path in sys.argv[1:]:
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-",
                           "--disable-pip-version-check", "--no-cache-dir", "-r", path],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        answers[path] = {"error": proc.stderr[-3000:]}
        continue
    report = json.loads(proc.stdout)
    answers[path] = sorted([re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower(), item["metadata"]["version"],
                            item["download_info"]["url"]] for item in report["install"])
print(json.dumps(answers))
