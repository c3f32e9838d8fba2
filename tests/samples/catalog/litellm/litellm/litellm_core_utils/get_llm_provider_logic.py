# Excerpt of litellm 1.110.2 (MIT): a few endpoint -> provider and provider -> api_base branches.
def get_llm_provider(api_base, litellm, get_secret_str):
    custom_llm_provider = None
    dynamic_api_key = None
    if api_base:
        for endpoint in litellm.openai_compatible_endpoints:
            if endpoint in api_base:
                if endpoint == "api.perplexity.ai":
                    custom_llm_provider = "perplexity"
                    dynamic_api_key = get_secret_str("PERPLEXITYAI_API_KEY")
                elif endpoint == "api.endpoints.anyscale.com/v1":
                    custom_llm_provider = "anyscale"
                    dynamic_api_key = get_secret_str("ANYSCALE_API_KEY")
                elif endpoint == "api.deepinfra.com/v1/openai":
                    custom_llm_provider = "deepinfra"
                    dynamic_api_key = get_secret_str("DEEPINFRA_API_KEY")
                elif endpoint == "api.together.ai/v1" or endpoint == "api.together.xyz/v1":
                    custom_llm_provider = "together_ai"
                    dynamic_api_key = get_secret_str("TOGETHER_API_KEY")
                elif endpoint == "https://integrate.api.nvidia.com/v1":
                    custom_llm_provider = "nvidia_nim"
                    dynamic_api_key = get_secret_str("NVIDIA_NIM_API_KEY")
    return custom_llm_provider, dynamic_api_key


def _get_openai_compatible_provider_info(custom_llm_provider, api_base, api_key, get_secret, get_secret_str):
    if custom_llm_provider == "cerebras":
        api_base = api_base or get_secret("CEREBRAS_API_BASE") or "https://api.cerebras.ai/v1"
        dynamic_api_key = api_key or get_secret_str("CEREBRAS_API_KEY")
    elif custom_llm_provider == "ollama":
        api_base = api_base or get_secret("OLLAMA_API_BASE") or "http://localhost:11434"
        dynamic_api_key = api_key or get_secret_str("OLLAMA_API_KEY")
    elif custom_llm_provider == "volcengine":
        # volcengine is openai compatible, we just need to set this to custom_openai and have the api_base be https://api.endpoints.anyscale.com/v1
        api_base = api_base or get_secret("VOLCENGINE_API_BASE") or "https://ark.cn-beijing.volces.com/api/v3"
        dynamic_api_key = api_key or get_secret_str("VOLCENGINE_API_KEY")
    return api_base, dynamic_api_key
