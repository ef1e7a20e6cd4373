"""Evidence packs for auditors: per-stack HIPAA control status, findings, waivers, GPU cost and model
provenance, rendered as self-contained HTML and Markdown, plus a compliance matrix across every stack.

The pieces, each small: :mod:`catalogue` (controls and how rules map to them, data in ``controls.yaml``),
:mod:`facts` (what the plan declares), :mod:`cost`, :mod:`status` (control status derivation),
:mod:`model`, :mod:`render` (Jinja2 templates), :mod:`layout` (which files go where) and :mod:`pack`
(gate the stacks, write the directory atomically).
"""
