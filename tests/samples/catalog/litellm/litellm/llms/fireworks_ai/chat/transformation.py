# Excerpt of litellm 1.110.2 (MIT), trimmed.
def get_secret_str(name):
    return None


class FireworksAIConfig:
    def _get_openai_compatible_provider_info(self, api_base: str | None, api_key: str | None):
        """Documentation links in docstrings are no endpoints: https://docs.fireworks.ai/api-reference"""
        api_base = api_base or get_secret_str("FIREWORKS_API_BASE") or "https://api.fireworks.ai/inference/v1"
        models_url = f"https://api.fireworks.ai/v1/accounts/{api_key}/models"
        return api_base, models_url
