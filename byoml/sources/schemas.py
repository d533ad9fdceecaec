"""Declared column types of the Log Analytics tables byoml knows.

Known tables are read with these types (a value that does not fit its type is
quarantined, not silently nulled). Other tables are read with an inferred schema.
Types are Spark SQL type names; only primitive types are used so every column can
be checked with ``try_cast``.
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional

# Columns every exported record carries, whatever the table.
COMMON_COLUMNS: Dict[str, str] = {
    "TimeGenerated": "timestamp",
    "TenantId": "string",
    "Type": "string",
    "SourceSystem": "string",
    "_ResourceId": "string",
}

SECURITY_EVENT: Dict[str, str] = {
    **COMMON_COLUMNS,
    "EventID": "int",
    "Computer": "string",
    "Account": "string",
    "AccountType": "string",
    "Activity": "string",
    "Channel": "string",
    "EventSourceName": "string",
    "Task": "int",
    "Level": "string",
    "SubjectUserName": "string",
    "SubjectDomainName": "string",
    "SubjectUserSid": "string",
    "SubjectLogonId": "string",
    "SubjectAccount": "string",
    "TargetUserName": "string",
    "TargetDomainName": "string",
    "TargetAccount": "string",
    "TargetUserSid": "string",
    "TargetLogonId": "string",
    "LogonType": "int",
    "ShareName": "string",
    "ShareLocalPath": "string",
    "RelativeTargetName": "string",
    "ObjectType": "string",
    "ObjectName": "string",
    "IpAddress": "string",
    "IpPort": "string",
    "AccessMask": "string",
    "AccessList": "string",
    "WorkstationName": "string",
    "LogonProcessName": "string",
    "AuthenticationPackageName": "string",
    "Status": "string",
    "SubStatus": "string",
    "FailureReason": "string",
    "Process": "string",
    "ProcessName": "string",
    "ProcessId": "string",
    "NewProcessName": "string",
    "NewProcessId": "string",
    "ParentProcessName": "string",
    "CommandLine": "string",
    "TokenElevationType": "string",
    "MandatoryLabel": "string",
    "EventOriginId": "string",
    "TimeCollected": "timestamp",
    "ManagementGroupName": "string",
}

USAGE: Dict[str, str] = {
    **COMMON_COLUMNS,
    "StartTime": "timestamp",
    "EndTime": "timestamp",
    "DataType": "string",
    "Solution": "string",
    "BatchesWithinSla": "long",
    "BatchesOutsideSla": "long",
    "BatchesCapped": "long",
    "TotalBatches": "long",
    "AvgLatencyInSeconds": "double",
    "Quantity": "double",
    "QuantityUnit": "string",
    "IsBillable": "boolean",
    "MeterId": "string",
    "LinkedMeterId": "string",
}

PERF: Dict[str, str] = {
    **COMMON_COLUMNS,
    "Computer": "string",
    "ObjectName": "string",
    "CounterName": "string",
    "InstanceName": "string",
    "CounterPath": "string",
    "CounterValue": "double",
    "Min": "double",
    "Max": "double",
    "SampleCount": "int",
    "StandardDeviation": "double",
    "BucketStartTime": "timestamp",
    "BucketEndTime": "timestamp",
    "MG": "string",
}

SYSLOG: Dict[str, str] = {
    **COMMON_COLUMNS,
    "Computer": "string",
    "HostName": "string",
    "HostIP": "string",
    "Facility": "string",
    "SeverityLevel": "string",
    "ProcessID": "int",
    "ProcessName": "string",
    "SyslogMessage": "string",
    "EventTime": "timestamp",
    "CollectorHostName": "string",
    "EventOriginId": "string",
    "MG": "string",
    "_ItemId": "string",
}

APP_TRACES: Dict[str, str] = {
    **COMMON_COLUMNS,
    "Message": "string",
    "SeverityLevel": "int",
    "AppRoleName": "string",
    "AppRoleInstance": "string",
    "AppVersion": "string",
    "OperationName": "string",
    "OperationId": "string",
    "ParentId": "string",
    "SDKVersion": "string",
    "ClientType": "string",
    "ClientOS": "string",
    "ResourceGUID": "string",
    "IKey": "string",
    "ItemCount": "int",
    "Properties": "string",
    "_ItemId": "string",
}

CONTAINER_LOG_V2: Dict[str, str] = {
    **COMMON_COLUMNS,
    "Computer": "string",
    "ContainerId": "string",
    "ContainerName": "string",
    "PodName": "string",
    "PodNamespace": "string",
    "LogMessage": "string",  # dynamic: JSON text when the container logged an object
    "LogSource": "string",
    "LogLevel": "string",
    "KubernetesMetadata": "string",
    "_ItemId": "string",
}

EVENT: Dict[str, str] = {
    **COMMON_COLUMNS,
    "Computer": "string",
    "EventLog": "string",
    "Source": "string",
    "EventID": "int",
    "EventLevel": "int",
    "EventLevelName": "string",
    "EventCategory": "int",
    "UserName": "string",
    "RenderedDescription": "string",
    "ParameterXml": "string",
    "EventData": "string",
    "EventOriginId": "string",
    "MG": "string",
    "ManagementGroupName": "string",
    "_ItemId": "string",
}

KNOWN_TABLES: Dict[str, Mapping[str, str]] = {
    "SecurityEvent": SECURITY_EVENT,
    "Usage": USAGE,
    "Perf": PERF,
    "Syslog": SYSLOG,
    "AppTraces": APP_TRACES,
    "ContainerLogV2": CONTAINER_LOG_V2,
    "Event": EVENT,
}

# Columns a table must have for byoml to read it at all.
TABLE_REQUIRED = ("TimeGenerated",)

SUPPORTED_TYPES = frozenset({"string", "int", "long", "double", "boolean", "timestamp"})


def canonical_table_name(table: str) -> str:
    """Return the known table's canonical casing (``securityevent`` -> ``SecurityEvent``)."""
    for known in KNOWN_TABLES:
        if known.lower() == table.lower():
            return known
    return table


def declared_schema(table: str) -> Optional[Mapping[str, str]]:
    """The declared schema for a known table, or None for tables read with inference."""
    return KNOWN_TABLES.get(canonical_table_name(table))
