"""PDR core: renderer, networks, inverse-rendering model, LOOCC, data, trainer, file formats."""

__version__ = "0.1.0"
