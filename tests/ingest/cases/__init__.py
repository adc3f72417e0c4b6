"""One module per topic of the broken-delivery corpus, each with ``CASES`` (see ../corpus.py)."""
