"""Databricks `spark_python_task` / spark-submit entry: `train.py --template ... --source ... --model ...`.

A thin shell over the CLI: the same arguments, the same code path (byoml.run.train).
"""
import sys

from byoml.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
