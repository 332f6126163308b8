"""Pure functions from API records to Arrow/pandas tables: schemas, tables and statistics.

No HTTP and no Dagster here.
"""

from ninepic_pipeline.tables.capture_stats import CAPTURE_COLUMNS, capture_order_stats
from ninepic_pipeline.tables.events import events_frame
from ninepic_pipeline.tables.images import gallery_pages_table, images_table
from ninepic_pipeline.tables.schemas import TABLE_SCHEMAS, conform, to_frame
from ninepic_pipeline.tables.size_stats import SIZE_COLUMNS, image_size_stats

__all__ = [
    "CAPTURE_COLUMNS",
    "SIZE_COLUMNS",
    "TABLE_SCHEMAS",
    "capture_order_stats",
    "conform",
    "events_frame",
    "gallery_pages_table",
    "image_size_stats",
    "images_table",
    "to_frame",
]
