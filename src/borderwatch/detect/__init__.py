"""borderwatch.detect stage."""
