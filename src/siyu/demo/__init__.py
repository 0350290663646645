"""Demo data: an online bookshop's private domain, generated set-wise and loaded."""
