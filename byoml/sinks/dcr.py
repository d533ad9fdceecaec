"""Custom-table and data collection rule (DCR) definitions for the ``_CL`` tables byoml writes.

``templates/dcr/<Table>.json`` in the repository is an ARM template per output table: the
custom table ``<Table>_CL`` in the workspace and a ``Direct`` DCR whose stream
``Custom-<Table>`` accepts exactly the rows byoml sends. Deploy it with
``az deployment group create -g RG --template-file templates/dcr/<Table>.json
--parameters workspaceName=WS``; its outputs are the DCR immutable id and ingestion
endpoint for ``sink.dcr_id`` / ``sink.endpoint``.

``TenantId`` is reserved in custom tables: the stream keeps it (rows carry the source
workspace's tenant) and the DCR transform renames it to ``SourceTenantId``.

:func:`arm_template` builds such a file for any table, :func:`template_definition` the one of a
template from its declared output schema (yours too); :func:`stream_columns` reads one back.
"""
from __future__ import annotations

import json
import sys
from typing import Dict, List, Mapping, Sequence, Tuple

RENAMED = {"TenantId": "SourceTenantId"}
LA_TYPES = ("string", "int", "long", "real", "boolean", "datetime", "dynamic", "guid")
_DCR_REFERENCE = "reference(resourceId('Microsoft.Insights/dataCollectionRules', parameters('dcrName')))"


def transform_kql(columns: Sequence[Tuple[str, str]]) -> str:
    renames = [f"{new} = {old}" for old, new in RENAMED.items() if old in dict(columns)]
    return "source" + (f" | project-rename {', '.join(renames)}" if renames else "")


def arm_template(table: str, columns: Sequence[Tuple[str, str]], description: str = "") -> dict:
    """An ARM template creating ``<table>_CL`` and a DCR with stream ``Custom-<table>``."""
    bad = [(n, t) for n, t in columns if t not in LA_TYPES]
    if bad:
        raise ValueError(f"unknown Log Analytics column types {bad}; use {LA_TYPES}")
    if "TimeGenerated" not in dict(columns):
        raise ValueError("a custom table needs a TimeGenerated column")
    stream = f"Custom-{table}"
    table_columns = [{"name": RENAMED.get(n, n), "type": t} for n, t in columns]
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "metadata": {"description": description or f"byoml output table {table}_CL and its data collection rule"},
        "parameters": {
            "workspaceName": {"type": "string", "metadata": {"description": "Log Analytics workspace (same resource group)"}},
            "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
            "dcrName": {"type": "string", "defaultValue": f"dcr-byoml-{table.lower()}"},
            "retentionInDays": {"type": "int", "defaultValue": 30},
        },
        "resources": [
            {
                "type": "Microsoft.OperationalInsights/workspaces/tables",
                "apiVersion": "2022-10-01",
                "name": f"[concat(parameters('workspaceName'), '/{table}_CL')]",
                "properties": {
                    "schema": {"name": f"{table}_CL", "columns": table_columns},
                    "retentionInDays": "[parameters('retentionInDays')]",
                    "plan": "Analytics",
                },
            },
            {
                "type": "Microsoft.Insights/dataCollectionRules",
                "apiVersion": "2023-03-11",
                "name": "[parameters('dcrName')]",
                "location": "[parameters('location')]",
                "kind": "Direct",
                "dependsOn": [f"[resourceId('Microsoft.OperationalInsights/workspaces/tables', "
                              f"parameters('workspaceName'), '{table}_CL')]"],
                "properties": {
                    "streamDeclarations": {stream: {"columns": [{"name": n, "type": t} for n, t in columns]}},
                    "destinations": {"logAnalytics": [{
                        "workspaceResourceId": "[resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspaceName'))]",
                        "name": "workspace",
                    }]},
                    "dataFlows": [{
                        "streams": [stream],
                        "destinations": ["workspace"],
                        "transformKql": transform_kql(columns),
                        "outputStream": f"Custom-{table}_CL",
                    }],
                },
            },
        ],
        "outputs": {
            "dcrImmutableId": {"type": "string", "value": f"[{_DCR_REFERENCE}.immutableId]"},
            "ingestionEndpoint": {"type": "string", "value": f"[{_DCR_REFERENCE}.endpoints.logsIngestion]"},
            "streamName": {"type": "string", "value": stream},
        },
    }


def template_definition(template, description: str = "") -> dict:
    """The ARM template of ``template``'s output table, from its declared output schema."""
    from ..templates.schema import la_type

    columns = [(name, la_type(spark_type)) for name, spark_type in template.output_schema()]
    return arm_template(template.output_table_name, columns, description)


def load(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _resource(template: Mapping, kind: str) -> Mapping:
    return next(r for r in template["resources"] if r["type"] == kind)


def stream_columns(template: Mapping) -> Dict[str, str]:
    """The stream declaration's columns (what byoml sends): name -> type."""
    dcr = _resource(template, "Microsoft.Insights/dataCollectionRules")
    (decl,) = dcr["properties"]["streamDeclarations"].values()
    return {c["name"]: c["type"] for c in decl["columns"]}


def table_columns(template: Mapping) -> Dict[str, str]:
    table = _resource(template, "Microsoft.OperationalInsights/workspaces/tables")
    return {c["name"]: c["type"] for c in table["properties"]["schema"]["columns"]}


def main(argv: List[str]) -> int:
    """``python -m byoml.sinks.dcr TABLE NAME:TYPE ...`` prints an ARM template for your own table."""
    if len(argv) < 2:
        print(main.__doc__, file=sys.stderr)
        return 2
    columns = [tuple(spec.split(":", 1)) for spec in argv[1:]]
    print(json.dumps(arm_template(argv[0], columns), indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
