"""Model performance once outcomes come back, and an estimate before they do.

``realized``: the figures of predictions whose true class is known, with bootstrap
intervals, and the rule that compares them with what the model promised.
``estimate``: the figures expected from calibrated probabilities alone (confidence-based
performance estimation). ``simulate``: labelled batches with a known shift, to check
both. ``confusion``: the metrics both compute from (batches of) confusion matrices.
"""
