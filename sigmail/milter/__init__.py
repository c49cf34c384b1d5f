"""The mail filter: sigmail as a milter for Postfix and Sendmail (``sigmail milter``).

Every message gets a verdict in its headers before it reaches a clerk, and nothing is lost or
passed as verified because sigmail failed. Where each part lives:

================  ==========================================================================
``protocol.py``   the milter wire protocol v6: packets, negotiation, reply encoding
``session.py``    one MTA connection: commands → one message at a time → the replies
``spool.py``      the message while it streams in: memory, then a temp file, then a ceiling
``filter.py``     one message → one verifier call → headers and action; the fail-safe
``headers.py``    Authentication-Results (smime=) and X-Sigmail-Verdict, the verdict→smime
                  table, forged-header removal (shared with ``sigmail verify --headers``)
``actions.py``    accept / quarantine / reject / tempfail per verdict and recipient domain
``notice.py``     the optional leading notice part of a message with no signature
``config.py``     the TOML configuration file and its validation (errors name the line)
``runtime.py``    a loaded configuration: trust, policy, revocation, the shared Verifier
``daemon.py``     the server: socket, threads, worker pool, SIGHUP reload, SIGTERM drain
================  ==========================================================================

docs/milter.md is the operator's guide; deploy/ has a sample configuration, a systemd unit
and the Postfix settings.
"""

from sigmail.milter.config import MilterConfig, load_config
from sigmail.milter.daemon import MilterServer
from sigmail.milter.headers import SMIME_RESULTS, headers_for, smime_result
from sigmail.milter.runtime import Runtime

__all__ = [
    "SMIME_RESULTS",
    "MilterConfig",
    "MilterServer",
    "Runtime",
    "headers_for",
    "load_config",
    "smime_result",
]
