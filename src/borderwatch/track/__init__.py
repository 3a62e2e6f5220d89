"""borderwatch.track stage."""
