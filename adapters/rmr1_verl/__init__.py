"""verl adapter for rmr1-plugin."""
