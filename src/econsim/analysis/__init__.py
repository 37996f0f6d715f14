"""Analyses of simulated runs that any model can use: trend–cycle filters, business-cycle stylized facts."""
