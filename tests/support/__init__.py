"""Helpers shared by the tests and the benchmarks.

Test modules and benchmarks import helpers from this package, never from a conftest.py or
from another test module (tests/helpline/test_test_imports.py checks it).
"""
