"""Run the experiment pipeline: train, extract features, evaluate, report (issue #21).

    python pipeline.py experiments/pipeline_demo.yaml [--set pipeline.seeds=[0,1]] \
        [--executor local --jobs 2]

The stages, the cache and the report are described in docs/pipeline.md.
"""

from pipeline.cli import main
from unsup3d import cli

if __name__ == "__main__":
    cli.run(main)
