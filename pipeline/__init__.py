"""The experiment pipeline (issue #21): one command from a config to the paper's tables.

``python pipeline.py experiments/pipeline_demo.yaml`` plans the stages (`pipeline.stages`:
train -> extract -> evaluate), runs what is not cached yet (`pipeline.scheduler`,
`pipeline.runner`, `pipeline.executors`) and writes the report (`pipeline.report`). The config
schema is `pipeline.settings`. Like an evaluation package it uses the core only through
``unsup3d.api`` and ``unsup3d.cli``, and the evaluations only through their CLIs' ``main``.
See docs/pipeline.md.
"""
