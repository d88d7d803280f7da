"""Exercises: rehearse a plan from a script on a scaled clock, with nobody told."""
