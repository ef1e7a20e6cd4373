"""``phistack-runtime`` commands: each module defines ``register(subparsers)``; :mod:`runtime.cli` finds them."""
