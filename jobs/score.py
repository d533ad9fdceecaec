"""Databricks `spark_python_task` / spark-submit entry: `score.py --template ... --source ... --model ... --sink ...`.

A thin shell over the CLI: the same arguments (`--report FILE` included), the same code path
(byoml.run.score). The bundle's jobs call the wheel's `byoml` entry point instead; both end in
byoml.cli.main.
"""
import sys

from byoml.cli import main

if __name__ == "__main__":
    sys.exit(main(["score", *sys.argv[1:]]))
