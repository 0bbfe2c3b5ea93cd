"""TRL adapter for rmr1-plugin."""
