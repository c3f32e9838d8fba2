"""
Shared helpers for the Voyage (VoyageAI by MongoDB) provider.
"""

from typing import Final

VOYAGE_API_BASE: Final = "https://api.voyageai.com/v1"
MONGODB_API_BASE: Final = "https://ai.mongodb.com/v1"
MONGODB_API_KEY_PREFIX: Final = "al-"
DOCS_URL: Final = "https://docs.litellm.ai/docs/providers/voyage"
