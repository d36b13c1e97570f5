"""corpuskit: turn raw text into training shards for a language model."""

from corpuskit.document import Document
from corpuskit.stage import Filter, GlobalStage, Mapper, Stage

__all__ = ["Document", "Stage", "Filter", "Mapper", "GlobalStage"]
__version__ = "0.1.0"
