"""Reusable Qt widgets of the pages (plots, diagram, form fields)."""
