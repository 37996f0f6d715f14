"""Built-in models, found by name through ``registry``; ``register`` adds your own."""

from econsim.models.registry import ModelExtras, get_extras, get_model, model_names, register

__all__ = ["ModelExtras", "get_extras", "get_model", "model_names", "register"]
