"""lernode: registry node for verifiable Learning and Employment Records."""

__version__ = "0.1.0"
