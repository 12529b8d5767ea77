"""llama.cpp server tests that fail against Fireside, each with its reason.

Keys are ``file::test`` (every parametrisation of the test) or ``file::test[params]`` (one).
Three classes:
PRESET — the test checks the text, token counts or configuration of llama-server's own preset
  servers (a 260K-parameter stories model with seed 42, n_ctx 256, a Command-R or Hermes
  template file, --api-key, --cors, --pooling none…), not something a client relies on;
DIFFERENT — Fireside answers differently on purpose;
MISSING — a llama-server feature Fireside does not have yet.
"""

PRESET = "PRESET: "
DIFFERENT = "DIFFERENT: "
MISSING = "MISSING: "

EXPECTED: dict[str, str] = {
    # test_chat_completion.py
    "test_chat_completion.py::test_chat_completion":
        PRESET + "the stories model's text and token counts; system_fingerprint is llama.cpp's "
        "build id ('b…')",
    "test_chat_completion.py::test_chat_completion_stream":
        PRESET + "the stories model's text; system_fingerprint 'b…'",
    "test_chat_completion.py::test_chat_completion_cached_tokens":
        PRESET + "prompt token counts of the stories model's tokenizer",
    "test_chat_completion.py::test_chat_completion_with_openai_library":
        PRESET + "system_fingerprint is llama.cpp's build id ('b…')",
    "test_chat_completion.py::test_apply_chat_template":
        PRESET + "expects the Command-R template the preset server is started with",
    "test_chat_completion.py::test_chat_template":
        PRESET + "a server started in debug mode ('__verbose' in every answer; ours gives it "
        "when the request says verbose: true) with the llama3 template",
    "test_chat_completion.py::test_chat_template_assistant_prefill":
        PRESET + "a debug-mode server with the llama3 template (see test_chat_template)",
    "test_chat_completion.py::test_chat_template_continue_final_message_vllm_compat":
        PRESET + "a debug-mode server with a Llama 3.1 template file from llama.cpp's repo "
        "(continue_final_message itself works: tests/server/test_openai_extras.py)",
    "test_chat_completion.py::test_context_size_exceeded":
        PRESET + "the preset's n_ctx of 256; ours is 4096, so the prompt fits",
    "test_chat_completion.py::test_context_size_exceeded_stream":
        PRESET + "the preset's n_ctx of 256",
    "test_chat_completion.py::test_invalid_chat_completion_req":
        DIFFERENT + "two assistant turns in a row are accepted, as OpenAI accepts them",
    "test_chat_completion.py::test_return_progress":
        PRESET + "the preset's n_batch of 64 and n_ctx of 256 (it counts prompt batches; "
        "prompt_progress itself works: tests/server/test_openai_extras.py)",
    # test_completion.py
    "test_completion.py::test_completion": PRESET + "the stories model's token counts",
    "test_completion.py::test_completion_unified": PRESET + "the stories model's token counts",
    "test_completion.py::test_completion_stream":
        PRESET + "prompt token counts of the stories model's tokenizer (18, 46)",
    "test_completion.py::test_completion_stream_vs_non_stream":
        PRESET + "the preset's fixed seed 42 (ours samples with a fresh seed per request)",
    "test_completion.py::test_completion_with_openai_library":
        PRESET + "system_fingerprint is llama.cpp's build id ('b…')",
    "test_completion.py::test_completion_stream_with_openai_library":
        PRESET + "the stories model's text",
    "test_completion.py::test_completion_stream_with_openai_library_stops":
        PRESET + "the stories model's text",
    "test_completion.py::test_completion_prompt_cache":
        PRESET + "prompt token counts of the stories tokenizer ((40+r)*5+2)",
    "test_completion.py::test_completion_response_fields":
        PRESET + "the stories tokenizer's '<s> ' before the prompt (SmolLM2 adds no BOS)",
    "test_completion.py::test_completion_with_tokens_input":
        PRESET + "the preset server's temperature 0 (two prompts must give the same text; "
        "ours samples at 0.7 unless the request says otherwise)",
    "test_completion.py::test_nocache_long_input_prompt": PRESET + "the preset's n_ctx of 256",
    # test_embedding.py
    "test_embedding.py::test_embedding_error_prompt_too_long":
        PRESET + "the preset's n_ctx of 512 for its BERT model",
    "test_embedding.py::test_embedding_pooling_none":
        PRESET + "a server started with --pooling none (per-token vectors)",
    "test_embedding.py::test_embedding_pooling_none_oai":
        PRESET + "a server started with --pooling none",
    "test_embedding.py::test_embedding_usage_single":
        PRESET + "token counts of the BERT tokenizer ([CLS]/[SEP])",
    "test_embedding.py::test_embedding_usage_multiple": PRESET + "BERT token counts",
    "test_embedding.py::test_embedding_mixed_input[-False]":
        DIFFERENT + "an empty input string is a 400, as OpenAI answers it",
    # test_security.py
    "test_security.py::test_access_static_assets_without_api_key":
        DIFFERENT + "no web UI is served at /",
    "test_security.py::test_correct_api_key":
        DIFFERENT + "/completions without /v1 is OpenAI's completions (for OpenAI clients "
        "given a base URL without /v1), not llama-server's native one",
    "test_security.py::test_correct_api_key_anthropic_header":
        DIFFERENT + "/completions without /v1 is OpenAI's completions",
    "test_security.py::test_incorrect_api_key": PRESET + "a server started with --api-key",
    "test_security.py::test_cors_options":
        DIFFERENT + "foreign browser origins are refused unless listed (--cors); llama-server "
        "allows every origin by default",
    "test_security.py::test_cors_origins_defaults_to_localhost_with_tools_enabled":
        DIFFERENT + "llama-server's --tools option serves its web UI's MCP tools; Fireside has "
        "no web UI (the window is the UI), so neither the option nor the proxy exists",
    "test_security.py::test_cors_origins_localhost_reflects":
        PRESET + "a router-mode server started with --cors localhost (ours: --cors ORIGIN)",
    "test_security.py::test_cors_origins_localhost_rejects":
        PRESET + "a router-mode server started with --cors localhost",
    "test_security.py::test_cors_proxy_only_forwards_explicit_proxy_headers":
        DIFFERENT + "the web UI's MCP CORS proxy (/cors-proxy): no web UI, no proxy",
    # test_tokenize.py
    "test_tokenize.py::test_tokenize_with_bos":
        PRESET + "expects BOS id 1 (the stories model); SmolLM2 adds no BOS",
    # test_tool_call.py
    "test_tool_call.py::test_completion_with_required_tool_real_model":
        PRESET + "template files from llama.cpp's repo (models/templates), not in the sdist",
    "test_tool_call.py::test_hello_world":
        PRESET + "a tool-calling model with its template file; SmolLM2-135M answers in prose",
    "test_tool_call.py::test_weather": PRESET + "a tool-calling model with its template file",
    "test_tool_call.py::test_calc_result": PRESET + "a tool-calling model's wording",
    "test_tool_call.py::test_thoughts": PRESET + "a reasoning model's text",
    # test_compat_anthropic.py
    "test_compat_anthropic.py::test_anthropic_empty_messages":
        DIFFERENT + "an empty message list is a 400, as Anthropic's API answers",
    "test_compat_anthropic.py::test_anthropic_tool_result_with_image":
        DIFFERENT + "image input is refused with a 400 (llama-server: 500)",
    "test_compat_anthropic.py::test_anthropic_vision_format_accepted":
        DIFFERENT + "image input is refused with a 400 (llama-server: 500)",
    "test_compat_anthropic.py::test_anthropic_vision_base64_with_multimodal_model":
        PRESET + "downloads a vision model from the Hub",
    "test_compat_anthropic.py::test_anthropic_thinking_history_in_count_tokens":
        PRESET + "the Qwen3 template file; SmolLM2's template drops thinking",
    "test_compat_anthropic.py::test_anthropic_thinking_history_in_template":
        PRESET + "the Qwen3 template file",
    "test_compat_anthropic.py::test_anthropic_thinking_with_reasoning_model":
        PRESET + "a reasoning model",
    # test_compat_oai_responses.py
    "test_compat_oai_responses.py::test_responses_with_openai_library":
        PRESET + "the stories model's text ('Suddenly')",
    "test_compat_oai_responses.py::test_responses_stream_with_llama_telemetry":
        DIFFERENT + "a reply cut by max_output_tokens ends with 'response.incomplete' "
        "(incomplete_details.reason max_output_tokens), as OpenAI's API ends it; llama-server "
        "sends 'response.completed'. The telemetry it checks (prompt_progress in "
        "response.in_progress, timings in the deltas and the last event) is there, and the "
        "test passes in a run where the reply ends before the limit",
}
