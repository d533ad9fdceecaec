"""Packaging for byoml: Spark ML templates over Log Analytics exports."""
import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "byoml" / "_version.py").read_text()).group(1)

setup(
    name="byoml",
    version=VERSION,
    description="Bring-your-own-ML for Azure Log Analytics / Microsoft Sentinel data on Spark",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["byoml", "byoml.*"]),
    package_data={"byoml": ["py.typed"]},
    install_requires=[
        "pyspark>=3.5,<5",
        "pandas>=2.0,<3",
        "numpy>=1.24",
        "pyarrow>=11",
        "scikit-learn>=1.3",
        "threadpoolctl>=3",
        "pyyaml>=6",
        "plotly>=5.20",  # the HTML scoring report (byoml score --report)
        # Azure connectors (also needed on Databricks)
        "azure-core>=1.30",
        "azure-identity>=1.15",
        "azure-storage-blob>=12.19",
        "azure-monitor-ingestion>=1.0.3",
        "azure-monitor-query>=1.3",
        "azure-eventhub>=5.11",
        "azure-eventhub-checkpointstoreblob>=1.1.4",
    ],
    extras_require={
        "test": [
            "pytest>=7",
            "cryptography>=41",  # self-signed certificates for the local HTTPS peers
            "databricks-bundles>=0.260",  # typed job models: tests/test_databricks_bundle.py
            "nbclient>=0.10",  # executes notebooks/ headlessly
            "nbformat>=5.9",
            "ipykernel>=6.25",
            "websocket-client>=1.6",  # DevTools protocol: the HTML report in headless Chromium
            "ruff>=0.5",  # .ci/run: ruff check (configured in ruff.toml)
        ],
        # Spark Connect clients (serverless, standard access mode; the suite's connect leg)
        "connect": ["pyspark[connect]>=4.0,<5"],
        # benchmarks/: peak RSS of the Python + JVM process tree
        "bench": ["psutil>=5.9"],
    },
    entry_points={
        "console_scripts": ["byoml=byoml.cli:main"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Security",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
