"""``--fuzz-cases``: how many schemathesis cases the fuzz run generates in all."""

from __future__ import annotations

import pytest

DEFAULT_CASES = 300  # the short run of ``make test``; ``make fuzz`` asks for 2,000


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-cases",
        type=int,
        default=DEFAULT_CASES,
        help="schemathesis cases to generate over all fuzzed operations (default %(default)s)",
    )


@pytest.fixture
def fuzz_cases(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--fuzz-cases"))
