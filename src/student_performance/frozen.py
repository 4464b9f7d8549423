"""The one base of every typed settings class: immutable, unknown keys refused.

A leaf module. Typed parameter groups (``params:<pipeline>.<group>``) end in
``Params`` and live beside the layer they configure; schema parts end in ``Spec``.
"""

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable and strict: a typo in conf (``n_split``) fails at load."""

    model_config = ConfigDict(frozen=True, extra="forbid")
