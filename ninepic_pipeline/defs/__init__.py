"""Dagster wiring: assets, partitions, resources, IO, jobs, schedules and sensors."""
