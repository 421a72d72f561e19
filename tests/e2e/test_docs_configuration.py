"""docs/configuration.md documents every flag and YAML key that `cairn node --help` lists."""
import os
import re
import subprocess
import sys

def main():
    binary = os.environ["CAIRN_BIN"]
    doc = open(os.path.join(os.environ["CAIRN_SOURCE_DIR"], "docs", "configuration.md")).read()
    help_text = subprocess.run([binary, "node", "--help"], check=True, capture_output=True,
                               text=True).stdout
    flags = set(re.findall(r"^\s+(--[a-z-]+)", help_text, re.M))
    keys = set(re.findall(r"YAML key: ([A-Za-z.]+)", help_text))
    assert len(flags) >= 10 and len(keys) >= 8, (flags, keys)
    missing = [f for f in flags if f"`{f}" not in doc] + [k for k in keys if f"`{k}`" not in doc]
    if missing:
        sys.exit(f"docs/configuration.md does not document: {', '.join(sorted(missing))}")
    print(f"ok: {len(flags)} flags and {len(keys)} keys documented")

if __name__ == "__main__":
    main()
