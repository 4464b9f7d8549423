"""Drift statistics, simulations and report rendering, as pure functions.

Used by the ``drift_monitoring`` pipeline; nothing here reads or writes files or talks
to MLflow (the catalog does).
"""
