"""Project hooks that need no Kedro run."""

from __future__ import annotations

from student_performance.hooks import _flatten


def test_typed_parameters_flatten_to_dotted_keys_without_records_or_long_values():
    values = {
        "quality": {"max_missing_share": 0.02, "tolerant_headers": True},
        "dataset": {
            "target": {"name": "grade", "classes": ["low", "high"]},
            "features": [{"name": "sport"}],
            "notes": "x" * 7000,
        },
    }
    assert _flatten(values) == {
        "quality.max_missing_share": 0.02,
        "quality.tolerant_headers": True,
        "dataset.target.name": "grade",
        "dataset.target.classes": ["low", "high"],
    }
