"""Harnesses that run the real pipeline to measure it (`make bench`) and to break it (`make chaos`)."""
