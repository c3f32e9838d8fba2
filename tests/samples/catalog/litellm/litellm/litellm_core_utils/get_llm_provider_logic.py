# Excerpt of litellm 1.110.2 (MIT): the endpoint -> provider branches, trimmed to a few.
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
