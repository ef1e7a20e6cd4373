"""Mutation tests of the gate: weaken one control of a compliant reference plan, demand a deny by the right rule."""
