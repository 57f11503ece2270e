import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The shared vectors live beside the project; tests/vectors holds a copy so a clean clone runs alone.
VECTOR_PATHS = [ROOT / "tests" / "vectors" / "public.json", ROOT.parent / "shared" / "vectors" / "public.json"]


def load_vectors():
    for path in VECTOR_PATHS:
        if path.exists():
            return json.loads(path.read_text())
    raise FileNotFoundError(f"test vectors not found in any of {[str(p) for p in VECTOR_PATHS]}")


@pytest.fixture(scope="session")
def vectors():
    return load_vectors()
