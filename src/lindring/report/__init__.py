"""Reporting: the paper's figures and their captions."""
