"""Questions about calls: the Q&A engine and its LlamaIndex adapter."""
