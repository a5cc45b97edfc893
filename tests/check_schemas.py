"""Validates leakgate's JSON outputs against the schemas in docs/schema/.

    python tests/check_schemas.py [--min N] PATH...

Each PATH is a file or a directory searched for *.json.  A document whose
"schema" member is "leakgate/1" or "leakgate-baseline/1" is validated
against docs/schema/<name>.schema.json; other files (not JSON, foreign,
made corrupt on purpose by a test: they name no leakgate schema or fail
to parse) are not leakgate's outputs and are skipped.  Exits 1 when a
document is invalid or fewer than N documents were checked, 2 when the
validator is missing.  Used by the integration scripts (on their work
directories), the Python tests (on each pytester directory) and the unit
tests (on the documents they built).
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = {"leakgate/1": "leakgate-1", "leakgate-baseline/1": "leakgate-baseline-1"}

try:
    import jsonschema
except ImportError:  # pragma: no cover - the environment is broken
    sys.exit("check_schemas.py: no jsonschema module: run sh ci/install-deps.sh")

_validators = {}


def validator(name):
    if name not in _validators:
        path = ROOT / "docs" / "schema" / f"{SCHEMAS[name]}.schema.json"
        schema = json.loads(path.read_text())
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _validators[name] = cls(schema)
    return _validators[name]


def check_file(path):
    """Returns (schema name or None, list of error strings)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None, []
    name = doc.get("schema") if isinstance(doc, dict) else None
    if name not in SCHEMAS:
        return None, []
    errors = [f"{path}: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
              for e in validator(name).iter_errors(doc)]
    return name, errors


def check_paths(paths):
    """Returns ({schema name: documents checked}, [errors])."""
    counts, errors = {}, []
    for p in map(Path, paths):
        files = sorted(p.rglob("*.json")) if p.is_dir() else [p]
        for f in files:
            name, errs = check_file(f)
            if name:
                counts[name] = counts.get(name, 0) + 1
                errors += errs
    return counts, errors


def main(argv):
    minimum = 0
    if argv[:1] == ["--min"]:
        minimum, argv = int(argv[1]), argv[2:]
    counts, errors = check_paths(argv)
    for e in errors:
        print(f"schema: {e}")
    total = sum(counts.values())
    if total < minimum:
        print(f"schema: {total} leakgate documents under {' '.join(argv)}, expected at least {minimum}")
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
