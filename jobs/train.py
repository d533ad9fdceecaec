"""Databricks `spark_python_task` / spark-submit entry: `train.py --template ... --source ... --model ... [--days N]`.

A thin shell over the CLI: the same arguments, the same code path (byoml.run.train). The bundle's
jobs call the wheel's `byoml` entry point instead; both end in byoml.cli.main.
"""
import sys

from byoml.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
