"""One graph extractor per module, each with its examples (see streams/graph/base.py)."""
