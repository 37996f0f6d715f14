"""Built-in models, found by name through ``registry``."""

from econsim.models.registry import get_model, model_names

__all__ = ["get_model", "model_names"]
