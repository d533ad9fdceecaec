"""--source forms and secret redaction (abfss://: tests/test_blob_source.py, against Azurite)."""
from __future__ import annotations

import logging

import pytest

from byoml.credentials import RedactingFilter, StaticTokenCredential, redact, register_secret
from byoml.errors import ConfigError, SourceError
from byoml.sources import open_source


def test_unknown_schemes_and_options_are_clear_errors(tmp_path):
    with pytest.raises(SourceError, match="not supported"):
        open_source("s3://bucket/x")
    with pytest.raises(ConfigError, match="unknown source option"):
        open_source(str(tmp_path), {"watermak": "x"})
    with pytest.raises(ConfigError, match="GUID"):
        open_source("la-query://not-a-guid", {})


def test_redaction_of_registered_and_secret_looking_values(caplog):
    register_secret("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0LWtleS12YWx1ZQ==;")
    text = "key c2VjcmV0LWtleS12YWx1ZQ== url https://a.blob.core.windows.net/c?sv=1&sig=AbC%2Fdef123 Bearer eyJabc.def"
    cleaned = redact(text)
    assert "c2VjcmV0" not in cleaned and "AbC%2F" not in cleaned and "eyJabc" not in cleaned
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s", ("c2VjcmV0LWtleS12YWx1ZQ==",), None)
    RedactingFilter().filter(record)
    assert "c2VjcmV0" not in record.getMessage()
    assert "tok-9" not in repr(StaticTokenCredential("tok-99999999"))
