"""Exporters: a shard directory rewritten in the formats other trainers read."""

from corpuskit.export.common import FORMATS, ExportError, export_shards

__all__ = ["FORMATS", "ExportError", "export_shards"]
