"""Analysis: reading a trained model, one question per module.

    interpret.py    what each attention head does, and when it learned it (pattern scores)
    inspection.py   one input through a model: attention, a query step by step, ablation
    projection.py   embeddings and hidden states in two dimensions; positional similarity
    compare.py      transformers against recurrent models: matched sizes, accuracy by length,
                    gradients over distance, step time

Import the modules themselves (`from transformer.analysis.inspection import run_attention`).
"""
