"""PDR core: renderer, networks, inverse-rendering model, LOOCC, data, trainer, file formats.

Packages outside the core (evaluations, baselines) use its public API, `unsup3d.api`, and the CLI
kit, `unsup3d.cli`; every other module here is internal (docs/architecture.md).
"""

__version__ = "0.1.0"
