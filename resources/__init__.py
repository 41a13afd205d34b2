"""Dagster resources, one module per external system.

- :mod:`resources.storage`: where creatives live (local folder or S3 bucket, same layout).
- :mod:`resources.io_manager`: the IO manager that writes each stage as real files through storage.
- :mod:`resources.providers`: image, copy and locale-context providers (offline defaults).
"""
