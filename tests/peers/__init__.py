"""Local stand-ins for Azure services, started by the test suite itself.

* :mod:`.azurite`: the real Blob Storage emulator (npm ``azurite``), on a free port;
* :mod:`.ingestion`: an HTTPS server following the Logs Ingestion API contract;
* :mod:`.query`: an HTTPS server following the Log Analytics query API shapes;
* :mod:`.tls`: a self-signed certificate for 127.0.0.1, made with ``cryptography``.
"""
