"""borderwatch.cross stage."""
