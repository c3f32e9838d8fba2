"""One graph extractor per module, each with its examples (see streams/detect/graph/base.py)."""
