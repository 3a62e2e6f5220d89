"""borderwatch.synth stage."""
