"""Project-specific Kedro datasets."""

from .pushgateway_dataset import PushgatewayDataset
from .raw_csv_dataset import RawCSVDataset, RawDataError

__all__ = ["PushgatewayDataset", "RawCSVDataset", "RawDataError"]
