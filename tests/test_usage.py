"""Usage estimates for answers and prompts the upstream did not count."""

from __future__ import annotations


def test_an_estimate_counts_an_inline_image_as_an_image():
    from gateway.usage import IMAGE_TOKENS, estimated_usage, prompt_bytes

    text = {"role": "user", "content": [{"type": "text", "text": "describe"}]}
    image = {"role": "user", "content": [{"type": "text", "text": "describe"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 400_000}}]}
    plain = estimated_usage({"messages": [text]}).input
    with_image = estimated_usage({"messages": [image]}).input
    assert plain + IMAGE_TOKENS - 30 < with_image < plain + IMAGE_TOKENS + 30
    assert prompt_bytes({"messages": [image]}, 400_100) < 4 * IMAGE_TOKENS + 200
    assert prompt_bytes({"messages": [text]}, 80) == 80
