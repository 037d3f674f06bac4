"""The test suite: a package, so ``from tests.helpers import ...`` works from any checkout with plain pytest."""
