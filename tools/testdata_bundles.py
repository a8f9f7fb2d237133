#!/usr/bin/env python3
"""Test data: the tiny bundle and its golden files (run by scripts/make_testdata.sh).

    testdata_bundles.py OUTDIR

writes OUTDIR/checkpoints/tiny-s0/ (the checkpoint in the released layout), OUTDIR/bundles/tiny-s0/
(the exported bundle) and OUTDIR/golden/tiny-s0/ (tools/make_golden.py). A stamp holding the sha256
of every tool source that shapes these files makes a rerun skip work that is up to date.
"""
import hashlib
import os
import shutil
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

SEED = 0
NAME = f"tiny-s{SEED}"
SOURCES = ["make_tiny_bundle.py", "make_tiny_tokenizer.py", "export.py", "make_golden.py"]


def sources_digest():
    digest = hashlib.sha256()
    package = os.path.join(TOOLS, "terrascope_ref")
    files = [os.path.join(TOOLS, name) for name in SOURCES]
    files += sorted(os.path.join(package, name) for name in os.listdir(package)
                    if name.endswith(".py"))
    for path in files:
        digest.update(os.path.relpath(path, TOOLS).encode())
        with open(path, "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def paths(out):
    return {"checkpoint": os.path.join(out, "checkpoints", NAME),
            "bundle": os.path.join(out, "bundles", NAME),
            "golden": os.path.join(out, "golden", NAME)}


def is_up_to_date(out, digest=None):
    stamp = os.path.join(out, "bundles", NAME + ".stamp")
    if not (all(os.path.isdir(p) for p in paths(out).values()) and os.path.isfile(stamp)):
        return False
    with open(stamp, "r", encoding="utf-8") as f:
        return f.read().strip() == (digest or sources_digest())


def ensure(out=None):
    """For tests: the tiny test data, made or refreshed when needed. Where: OUT, else
    $TERRASCOPE_TEST_DATA, else the repository's build/testdata when it is up to date (made by
    scripts/test.sh; only read), else a per-user directory in the system temp dir. Returns paths()."""
    if out is None:
        out = os.environ.get("TERRASCOPE_TEST_DATA")
    if out is None:
        built = os.path.join(os.path.dirname(TOOLS), "build", "testdata")
        out = built if is_up_to_date(built) else os.path.join(
            __import__("tempfile").gettempdir(), f"terrascope-testdata-{os.getuid()}")
    if main([out], quiet=True) != 0:
        raise RuntimeError(f"testdata_bundles: could not make the tiny test data under {out}")
    return paths(out)


def main(argv=None, quiet=False):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: testdata_bundles.py OUTDIR", file=sys.stderr)
        return 2
    out = argv[0]
    ckpt = os.path.join(out, "checkpoints", NAME)
    bundle = os.path.join(out, "bundles", NAME)
    golden = os.path.join(out, "golden", NAME)
    stamp = os.path.join(out, "bundles", NAME + ".stamp")
    digest = sources_digest()
    if is_up_to_date(out, digest):
        if not quiet:
            print(f"testdata_bundles: {bundle} and {golden} are up to date")
        return 0
    for path in (ckpt, bundle, golden):
        shutil.rmtree(path, ignore_errors=True)
    if os.path.exists(stamp):
        os.remove(stamp)
    import make_golden
    import make_tiny_bundle
    make_tiny_bundle.make_checkpoint(SEED, ckpt)
    make_tiny_bundle.export(ckpt, bundle, SEED)
    make_golden.make_golden(bundle, golden, log=(lambda m: None) if quiet else print)
    with open(stamp, "w", encoding="utf-8") as f:
        f.write(digest + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
