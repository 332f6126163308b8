"""Benchmarks of the gallery read: this project's pipeline against the ways users do it without it.

Not part of the package: run from the checkout, e.g. `.venv/bin/python -m benchmarks.bench`.
"""
