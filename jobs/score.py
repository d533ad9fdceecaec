"""Databricks `spark_python_task` / spark-submit entry: `score.py --template ... --source ... --model ... --sink ...`.

A thin shell over the CLI: the same arguments, the same code path (byoml.run.score).
"""
import sys

from byoml.cli import main

if __name__ == "__main__":
    sys.exit(main(["score", *sys.argv[1:]]))
