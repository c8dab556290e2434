"""Billing documents rendered for people and for machines."""
