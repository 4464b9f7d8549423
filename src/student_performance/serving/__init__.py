"""The prediction service: the registry's champion behind FastAPI (``python -m
student_performance.serving``). A regular package, so that a wheel of the project
ships it with its page (``static/``, package data in pyproject.toml)."""
