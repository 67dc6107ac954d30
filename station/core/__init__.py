"""The ground floor: facts every other part shares, importing nothing of the project.

Channels and plate geometry with the CoP formula, physical constants and the contact
threshold, the calibration model, the protocols, the errors, the configuration and the
marker set. See docs/architecture.md.
"""
