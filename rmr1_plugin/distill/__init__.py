"""Distil chain-of-rubrics judge outputs from a teacher, RM-R1's two-pass way (``rmr1 distill``)."""
