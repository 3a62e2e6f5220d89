"""borderwatch.eval stage."""
