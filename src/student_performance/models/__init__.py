"""Model building blocks: schema-driven preprocessing, candidate estimators, metrics.

Kept outside the pipeline folder because the fitted objects are pickled: their classes
must live at a stable import path for the bundled MLflow model and the API to load them.
"""
