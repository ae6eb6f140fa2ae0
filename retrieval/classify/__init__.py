"""Few-shot classification: the kNN vote with its light label model (``knn``, ``label_model``)
and the LLM refinement (``llm_prompt``, ``refine``)."""
