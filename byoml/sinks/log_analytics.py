"""``--sink loganalytics``: write ``_CL`` rows through the Logs Ingestion API, exactly once.

The rows go from Spark to the uploader without being collected on the driver:
``toLocalIterator`` over ``to_json(struct(*))`` of :func:`~byoml.sinks.rows.to_table_rows`,
cut into request bodies under 1 MB (:mod:`byoml.sinks.chunks`) and spooled once per
RunId in the ledger (:mod:`byoml.sinks.ledger`). Each body is gzipped and posted with
``azure-monitor-ingestion``; retries on 408/429/5xx and timeouts (honouring
``Retry-After``) live in the client's azure-core pipeline. A chunk that still fails is
dead-lettered with the reason (:mod:`byoml.sinks.dead_letter`); ``byoml replay DIR``
sends it again. A 401/403 stops the run with the role to grant.

Configuration (``sink:`` section, or the environment)::

    sink:
      endpoint: https://my-dce.westeurope-1.ingest.monitor.azure.com   # BYOML_LA_ENDPOINT
      dcr_id: dcr-0123456789abcdef0123456789abcdef                    # BYOML_LA_DCR_ID
      stream: Custom-AccessRarity                                     # BYOML_LA_STREAM (default Custom-<Table>)
      state_dir: /dbfs/byoml/state        # ledger/, dead-letter/, quarantine/ (keep it between runs)

The credential is ``DefaultAzureCredential``, or ``BYOML_ACCESS_TOKEN``; never a config value.

Limits of "exactly once": the ledger records a chunk after its 204, so a process killed
between the service storing a chunk and the ledger's fsync (a few milliseconds) resends that
one chunk; and a request whose answer is lost (a timeout after the service stored it) is
retried and stored twice, because the API has no idempotency key. Both cases are bounded to
one chunk and visible in KQL as repeated rows of the same ``RunId``. Run one writer per
ledger folder at a time (a scheduled job, or ``byoml replay``, not both at once).
"""
from __future__ import annotations

import dataclasses
import gzip
import io
import logging
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Union

from ..credentials import monitor_credential, redact, reject_secret_options
from ..errors import AuthorizationError, ConfigError, DeliveryError, SinkError
from .base import SinkResult
from .chunks import MAX_REQUEST_BYTES, iter_chunks
from .dead_letter import iter_letters, remove_letter, write_letter
from .ledger import Ledger, find_ledger
from .rows import to_table_rows

log = logging.getLogger(__name__)

ENDPOINT_ENV, DCR_ENV, STREAM_ENV = "BYOML_LA_ENDPOINT", "BYOML_LA_DCR_ID", "BYOML_LA_STREAM"
RETRY_STATUS = (408, 429, 500, 502, 503, 504)
ROLE_HINT = (
    "grant the identity byoml runs as the 'Monitoring Metrics Publisher' role on the data collection "
    "rule {dcr} (Azure portal: the DCR > Access control (IAM) > Add role assignment); role assignments "
    "can take up to 30 minutes to apply"
)


@dataclass
class LogAnalyticsConfig:
    """Where and how to send: the ``sink:`` config section, with the environment as fallback."""

    endpoint: str
    dcr_id: str
    stream: Optional[str] = None
    state_dir: str = "byoml-state"
    ledger_dir: Optional[str] = None
    dead_letter_dir: Optional[str] = None
    max_request_bytes: int = MAX_REQUEST_BYTES
    retry_total: int = 8
    retry_backoff_factor: float = 0.8
    retry_backoff_max: float = 60.0
    connection_timeout: float = 10.0
    read_timeout: float = 60.0
    max_consecutive_failures: int = 5
    connection_verify: Union[bool, str] = True

    @classmethod
    def from_options(cls, options: Optional[Mapping[str, Any]] = None, require: bool = True) -> "LogAnalyticsConfig":
        opts = dict(options or {})
        reject_secret_options(opts, "sink")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(opts) - fields - {"type"})
        if unknown:
            raise ConfigError(f"unknown sink option(s) {', '.join(unknown)}; valid: {', '.join(sorted(fields))}")
        opts.pop("type", None)
        opts.setdefault("endpoint", os.environ.get(ENDPOINT_ENV, ""))
        opts.setdefault("dcr_id", os.environ.get(DCR_ENV, ""))
        if os.environ.get(STREAM_ENV) and not opts.get("stream"):
            opts["stream"] = os.environ[STREAM_ENV]
        if require:
            missing = [name for name, env in (("endpoint", ENDPOINT_ENV), ("dcr_id", DCR_ENV)) if not opts.get(name)]
            if missing:
                raise ConfigError(
                    "--sink loganalytics needs " + " and ".join(
                        f"sink.{m} in the config (or {ENDPOINT_ENV if m == 'endpoint' else DCR_ENV})" for m in missing
                    ) + ": the data collection endpoint and the DCR's immutable id (dcr-...)"
                )
        cfg = cls(**opts)
        if cfg.endpoint and not cfg.endpoint.lower().startswith("https://"):
            raise ConfigError(f"sink.endpoint must be an https:// URL (a DCE or the DCR's ingestion endpoint), not {cfg.endpoint!r}")
        if not 64 <= cfg.max_request_bytes <= 1_048_576:
            raise ConfigError("sink.max_request_bytes must be between 64 and 1048576 (the service limit is 1 MB)")
        return cfg

    @property
    def ledger_root(self) -> str:
        return os.path.abspath(self.ledger_dir or os.path.join(self.state_dir, "ledger"))

    @property
    def dead_letter_root(self) -> str:
        return os.path.abspath(self.dead_letter_dir or os.path.join(self.state_dir, "dead-letter"))


def retry_policy(cfg: LogAnalyticsConfig):
    """azure-core's RetryPolicy, also for POST: 408/429/5xx, timeouts and connection errors.

    By default azure-core retries a POST only on 500/503/504 or a ``Retry-After``; a chunk
    is safe to resend as long as the service did not answer 204, so every transient
    outcome is retried here. ``Retry-After`` (and ``retry-after-ms``) is honoured.
    """
    from azure.core.pipeline.policies import RetryPolicy

    class IngestionRetryPolicy(RetryPolicy):
        def _is_method_retryable(self, settings, request, response=None):  # noqa: D401 - azure-core hook
            return True

    return IngestionRetryPolicy(
        retry_total=cfg.retry_total,
        retry_backoff_factor=cfg.retry_backoff_factor,
        retry_backoff_max=cfg.retry_backoff_max,
        retry_on_status_codes=list(RETRY_STATUS),
    )


@dataclass
class Outcome:
    ok: bool
    status: Optional[int] = None
    reason: str = ""


class ChunkUploader:
    """Posts one gzipped body per call with ``LogsIngestionClient.upload``; classifies failures."""

    def __init__(self, cfg: LogAnalyticsConfig, credential=None) -> None:
        from azure.monitor.ingestion import LogsIngestionClient

        self.cfg = cfg
        self.requests = 0
        self.client = LogsIngestionClient(
            cfg.endpoint,
            credential if credential is not None else monitor_credential(),
            retry_policy=retry_policy(cfg),
            connection_verify=cfg.connection_verify,
            connection_timeout=cfg.connection_timeout,
            read_timeout=cfg.read_timeout,
        )

    def send(self, body: bytes, stream: str, dcr_id: Optional[str] = None) -> Outcome:
        """Send one body; 401/403/404 raise (nothing later could succeed), others return an :class:`Outcome`."""
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError, ServiceResponseError

        dcr = dcr_id or self.cfg.dcr_id
        if len(body) > self.cfg.max_request_bytes:
            return Outcome(False, 413, f"not sent: one row is {len(body):,} bytes, over the "
                                       f"{self.cfg.max_request_bytes:,}-byte request limit")
        self.requests += 1
        try:
            self.client.upload(rule_id=dcr, stream_name=stream, logs=io.BytesIO(gzip.compress(body, 6)))
            return Outcome(True, 204)
        except ClientAuthenticationError as exc:
            status = getattr(exc, "status_code", None)
            if status in (401, 403):
                raise _auth_error(status, dcr, stream, exc) from None
            raise AuthorizationError(
                "could not get a token for https://monitor.azure.com: sign in (az login), give the job a "
                f"managed identity or service principal, or set BYOML_ACCESS_TOKEN ({redact(_first_line(exc))})"
            ) from None
        except HttpResponseError as exc:
            status = exc.status_code
            if status in (401, 403):
                raise _auth_error(status, dcr, stream, exc) from None
            if status == 404:
                raise SinkError(
                    f"the ingestion endpoint answered 404 for DCR {dcr} stream {stream}: check sink.dcr_id (the DCR's "
                    "immutable id, dcr-...), sink.stream (Custom-<Name>) and that the endpoint belongs to the DCR's region"
                ) from None
            return Outcome(False, status, f"HTTP {status} after retries: {redact(_first_line(exc))}")
        except (ServiceRequestError, ServiceResponseError) as exc:
            return Outcome(False, None, f"no answer after retries ({type(exc).__name__}): {redact(_first_line(exc))}")

    def close(self) -> None:
        self.client.close()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _auth_error(status: int, dcr: str, stream: str, exc: Exception) -> AuthorizationError:
    if status == 401:
        what = ("HTTP 401: the Logs Ingestion endpoint rejected the token (expired, or not issued for "
                "https://monitor.azure.com). Check BYOML_ACCESS_TOKEN or the DefaultAzureCredential sign-in; and ")
    else:
        what = f"HTTP 403: the identity may not send to stream {stream}. To fix it, "
    return AuthorizationError(what + ROLE_HINT.format(dcr=dcr) + f". Service said: {redact(_first_line(exc))}")


def json_rows(df) -> Iterator[bytes]:
    """The rows of ``df`` as compact JSON (UTF-8), streamed partition by partition to the driver."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    table = to_table_rows(df)
    cols = []
    for f in table.schema.fields:
        c = F.col(f"`{f.name}`")
        if isinstance(f.dataType, (T.DoubleType, T.FloatType)):  # JSON has no NaN/Infinity
            c = F.when(F.isnan(c) | (F.abs(c) == float("inf")), F.lit(None)).otherwise(c)
        cols.append(c.alias(f.name))
    lines = table.select(F.to_json(F.struct(*cols), {"ignoreNullFields": "false"}).alias("j"))
    for row in lines.toLocalIterator(prefetchPartitions=True):
        yield row[0].encode("utf-8")


class LogAnalyticsSink:
    """Writes a run's rows to ``<Table>_CL`` through a DCR, exactly once per RunId."""

    def __init__(self, options: Optional[Mapping[str, Any]] = None, credential=None) -> None:
        self.cfg = LogAnalyticsConfig.from_options(options)
        self._credential = credential
        self.uri = "loganalytics"
        self.last_requests = 0

    def describe(self) -> str:
        return f"loganalytics {self.cfg.endpoint} (DCR {self.cfg.dcr_id})"

    def quarantine_dir(self, run_id: str, table: str) -> str:
        return os.path.join(os.path.abspath(self.cfg.state_dir), "quarantine", run_id, table)

    def stream_for(self, table: str) -> str:
        return self.cfg.stream or f"Custom-{table}"

    def write(self, df, table: str, run_id: str, rows: int) -> SinkResult:
        """Spool ``df`` once for ``run_id`` (unless already spooled) and send what is not yet delivered."""
        if "RunId" not in df.columns:
            raise SinkError("rows sent to Log Analytics must carry a RunId column (the delivery ledger keys on it)")
        stream = self.stream_for(table)
        ledger = Ledger(self.cfg.ledger_root, table, run_id)
        manifest = ledger.manifest()
        if manifest is None:
            manifest = ledger.spool(
                iter_chunks(json_rows(df), self.cfg.max_request_bytes),
                {"endpoint": self.cfg.endpoint, "dcr_id": self.cfg.dcr_id, "stream": stream},
            )
            if manifest["rows"] != rows:
                log.warning("spooled %d rows for run %s, the caller counted %d", manifest["rows"], run_id, rows)
        else:
            if (manifest.get("dcr_id"), manifest.get("stream")) != (self.cfg.dcr_id, stream):
                raise SinkError(
                    f"run {run_id} was already started towards DCR {manifest.get('dcr_id')} stream "
                    f"{manifest.get('stream')}; finish it there, or move {ledger.dir} away to send it again elsewhere"
                )
            done, total = ledger.progress()
            log.info("run %s resumes from its ledger: %d of %d chunks already delivered", run_id, done, total)
        deliver(ledger, self.cfg, stream, self._uploader())
        return SinkResult(ledger.delivered_rows(), f"{self.cfg.endpoint} · {stream} -> {table}_CL (ledger {ledger.dir})")

    def _uploader(self) -> ChunkUploader:
        return ChunkUploader(self.cfg, self._credential)


def deliver(ledger: Ledger, cfg: LogAnalyticsConfig, stream: str, uploader: ChunkUploader) -> None:
    """Send every spooled chunk not yet delivered; dead-letter those that fail; raise if any did."""
    delivered = ledger.delivered()
    failed: List[dict] = []
    consecutive = 0
    stop_reason = ""
    base = {"endpoint": cfg.endpoint, "dcr_id": cfg.dcr_id, "stream": stream, "table": ledger.table,
            "run_id": ledger.run_id, "ledger": ledger.dir}
    try:
        for chunk in ledger.chunks():
            if chunk.index in delivered:
                continue
            if stop_reason:
                outcome = Outcome(False, None, stop_reason)
            else:
                outcome = uploader.send(chunk.body, stream)
            if outcome.ok:
                ledger.mark_delivered(chunk.index)
                remove_letter(cfg.dead_letter_root, ledger.table, ledger.run_id, chunk.index)
                consecutive = 0
                continue
            meta = {**base, "chunk": chunk.index, "rows": chunk.rows, "status": outcome.status, "reason": outcome.reason}
            path = write_letter(cfg.dead_letter_root, meta, chunk.body)
            failed.append({**meta, "path": path})
            log.warning("chunk %d of run %s dead-lettered: %s", chunk.index, ledger.run_id, outcome.reason)
            consecutive += 1
            if not stop_reason and consecutive >= cfg.max_consecutive_failures:
                stop_reason = (f"not sent: delivery stopped after {consecutive} consecutive failed chunks "
                               f"(last: {outcome.reason})")
    finally:
        uploader.close()
    if failed:
        rows = sum(f["rows"] for f in failed)
        raise DeliveryError(
            f"{len(failed)} chunk(s) ({rows:,} rows) of run {ledger.run_id} were not delivered to {stream}; "
            f"first reason: {failed[0]['reason']}. They are in {cfg.dead_letter_root} with their reasons: fix "
            f"the cause, then run 'byoml replay {cfg.dead_letter_root}' (or rerun the same window: chunks "
            "already delivered are not sent again)"
        )


@dataclass
class ReplayReport:
    sent_chunks: int = 0
    sent_rows: int = 0
    already_delivered: int = 0
    failed: int = 0
    reasons: List[str] = dataclasses.field(default_factory=list)


def replay(directory: str, options: Optional[Mapping[str, Any]] = None, credential=None) -> ReplayReport:
    """Resend the dead letters under ``directory``; delivered ones are removed and marked in their ledger.

    The destination is the one recorded in each letter unless ``options`` / the environment name
    another endpoint or DCR.
    """
    if not os.path.exists(directory):
        raise ConfigError(f"dead-letter folder '{directory}' does not exist")
    overrides = LogAnalyticsConfig.from_options(options, require=False)
    report = ReplayReport()
    uploaders: Dict[str, ChunkUploader] = {}
    try:
        for letter in iter_letters(directory):
            meta = letter.meta
            cfg = dataclasses.replace(
                overrides,
                endpoint=overrides.endpoint or meta["endpoint"],
                dcr_id=overrides.dcr_id or meta["dcr_id"],
            )
            stream = overrides.stream or meta["stream"]
            ledger = find_ledger(meta.get("ledger", "")) if meta.get("ledger") else None
            chunk = int(meta["chunk"])
            if ledger is not None and chunk in ledger.delivered():
                os.remove(letter.path)  # a rerun of the window delivered it meanwhile
                report.already_delivered += 1
                continue
            key = f"{cfg.endpoint}|{cfg.dcr_id}"
            if key not in uploaders:
                uploaders[key] = ChunkUploader(cfg, credential)
            outcome = uploaders[key].send(letter.body, stream, cfg.dcr_id)
            if outcome.ok:
                if ledger is not None:
                    ledger.mark_delivered(chunk)
                os.remove(letter.path)
                report.sent_chunks += 1
                report.sent_rows += letter.rows
            else:
                root = os.path.dirname(os.path.dirname(letter.path))
                write_letter(root, {**meta, "status": outcome.status, "reason": outcome.reason}, letter.body)
                report.failed += 1
                report.reasons.append(outcome.reason)
    finally:
        for uploader in uploaders.values():
            uploader.close()
    return report
