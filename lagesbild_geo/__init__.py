"""Lägesbild: a shared, de-identified safety situation picture per area and week."""

__version__ = "0.1.0"
