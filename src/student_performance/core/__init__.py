"""The project's core: cleaning, model selection and inference.

Pipelines, serving, drift monitoring and the registry gate depend on this package; it
depends on none of them (``tests/test_conventions.py`` enforces the direction).
"""
