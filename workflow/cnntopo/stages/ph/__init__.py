"""Stages of the rules in ``workflow/rules/ph/``."""
