"""Project-specific Kedro datasets."""

from .pushgateway_dataset import PushgatewayDataset
from .raw_csv_dataset import (
    SOURCE_LINE,
    MalformedRecord,
    RawCSVDataset,
    RawCSVSourceDataset,
    RawDataError,
    RawSource,
)

__all__ = [
    "SOURCE_LINE",
    "MalformedRecord",
    "PushgatewayDataset",
    "RawCSVDataset",
    "RawCSVSourceDataset",
    "RawDataError",
    "RawSource",
]
