"""The label-quality engine (the product's evaluation runs): out-of-sample scores, label health,
reports, stored runs and LLM review. The services call it; the harness in ``eval/`` measures it."""
