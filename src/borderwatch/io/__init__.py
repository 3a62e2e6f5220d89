"""borderwatch.io stage."""
