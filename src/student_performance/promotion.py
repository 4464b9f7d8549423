"""The promotion gate's decision, pure: numbers in, ``(promote, reason)`` out.

No MLflow here: ``registry`` reads the figures from the tracking store, these functions
decide, and ``registry`` records the decision.
"""

from __future__ import annotations

from student_performance.core.groups import WORST_GROUP_METRICS
from student_performance.models.metrics import LOWER_IS_BETTER

LOG_LOSS = "log_loss"


def metric_key(primary_metric: str) -> str:
    """The run metric the gate compares (the selected model's repeated-CV mean)."""
    return f"selected.cv_{primary_metric}"


def decide(
    challenger: float, champion: float | None, tolerance: float, primary_metric: str
) -> tuple[bool, str]:
    """Whether to promote the challenger, and why (pure: no MLflow).

    Args:
        challenger: The challenger's primary metric.
        champion: The champion's, or ``None`` when there is no champion yet.
        tolerance: How much worse (absolute) the challenger may be and still win.
        primary_metric: The metric's name (lower is better for ``log_loss``).

    Returns:
        ``(promote, reason)``.
    """
    if champion is None:
        return True, "first registered model: becomes champion"
    sign = -1.0 if primary_metric in LOWER_IS_BETTER else 1.0
    gain = sign * (challenger - champion)
    verdict = "not worse" if gain >= -tolerance else "worse"
    reason = (
        f"challenger {primary_metric} {challenger:.4f} vs champion {champion:.4f}: "
        f"{verdict} than the tolerance {tolerance}"
    )
    return gain >= -tolerance, reason


def decide_log_loss(
    challenger: float | None, champion: float | None, tolerance: float | None
) -> tuple[bool, str]:
    """Whether the challenger's probabilities are not worse than the champion's.

    Args:
        challenger: The challenger's repeated-CV log loss.
        champion: The champion's (re-scored or recorded), ``None`` when unknown.
        tolerance: How much higher (worse) the challenger's log loss may be;
            ``None`` disables the check.

    Returns:
        ``(passes, reason)``; an unknown figure or no tolerance passes, and says so.
    """
    if tolerance is None:
        return True, ""
    if challenger is None or champion is None:
        return True, "log loss not compared (a figure is missing)"
    passes = challenger - champion <= tolerance
    verdict = "within" if passes else "worse than"
    return passes, (
        f"challenger log_loss {challenger:.4f} vs champion {champion:.4f}: "
        f"{verdict} the tolerance {tolerance}"
    )


def worst_group(
    metrics: dict[str, float], figure: str
) -> tuple[str, float] | tuple[None, None]:
    """The lowest ``fairness.<feature>.<group>.<figure>`` of a run's metrics, among
    groups not flagged ``small``: ``("<feature>=<group>", value)``, or ``(None, None)``
    when the run logged no group figures."""
    found = []
    for key, value in metrics.items():
        parts = key.split(".")
        if len(parts) != 4 or parts[0] != "fairness" or parts[3] != figure:  # noqa: PLR2004
            continue
        if parts[2] == "gap" or metrics.get(f"fairness.{parts[1]}.{parts[2]}.small"):
            continue
        found.append((value, f"{parts[1]}={parts[2]}"))
    if not found:
        return None, None
    value, group = min(found)
    return group, value


def decide_worst_group(
    challenger: dict[str, float], champion: dict[str, float], tolerance: float | None
) -> tuple[bool, str]:
    """Whether the challenger's worst group is not worse than the champion's.

    For each figure in ``core.groups.WORST_GROUP_METRICS``, the lowest group of each run (from its
    ``fairness.*`` metrics, groups flagged small left out) is compared; a challenger
    whose worst group is lower by more than ``tolerance`` is refused.

    Args:
        challenger: The challenger run's metrics.
        champion: The champion run's metrics (its recorded figures).
        tolerance: How much lower the challenger's worst group may be; ``None``
            disables the check.

    Returns:
        ``(passes, reason)``: the reason names each run's worst group and the drop.
    """
    if tolerance is None:
        return True, ""
    passes, reasons = True, []
    for figure in WORST_GROUP_METRICS:
        group, value = worst_group(challenger, figure)
        champion_group, champion_value = worst_group(champion, figure)
        if value is None or champion_value is None:
            reasons.append(f"worst-group {figure} not compared (a figure is missing)")
            continue
        drop = champion_value - value
        ok = drop <= tolerance
        passes = passes and ok
        reasons.append(
            f"worst-group {figure}: challenger {group} {value:.4f} vs champion "
            f"{champion_group} {champion_value:.4f} (lower by {drop:.4f}): "
            f"{'within' if ok else 'worse than'} the tolerance {tolerance}"
        )
    return passes, "; ".join(reasons)
