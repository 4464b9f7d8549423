"""Project-specific Kedro datasets."""

from .raw_csv_dataset import RawCSVDataset, RawDataError

__all__ = ["RawCSVDataset", "RawDataError"]
