"""The browser-only variant's core (DESIGN §10): the tick loop, the log file and its verification.

Pure Python that imports no Django: the browser runs it in a Web Worker under Pyodide, with the
same `selfplay.world` rules, `agents.brains` and `events.hashing` as the daemon, and the daemon
runs `logfile` to verify a local log before adopting it (`agents.imports`).
"""
