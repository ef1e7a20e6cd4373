"""The Pulumi program (``__main__.py``), its typed stack spec and the reference stacks' config."""
