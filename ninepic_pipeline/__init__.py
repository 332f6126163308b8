"""ninepic-pipeline: 9pic.ai event photo galleries into Parquet tables, a Dagster code location."""

import logging

# A library logs, the application decides where to: nothing prints unless logging is configured
# (the Dagster instance captures this logger: dagster_home/dagster.yaml, python_logs).
logging.getLogger(__name__).addHandler(logging.NullHandler())
