"""The sigmail milter with verification replaced by a verdict computed once (bench baseline).

    python bench/null_milter.py --config FILE

Everything else is the real mail filter — protocol, spool, forged-header removal, header
building, action, log line — so ``bench_milter.py`` can show what the milter costs when
verification costs nothing. A measurement baseline, never a way to run sigmail.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> int:
    from milter_support import signed_message

    from sigmail.cli import build_parser
    from sigmail.cli.milter_cmd import config_from_args
    from sigmail.milter.daemon import MilterServer
    from sigmail.milter.runtime import Runtime

    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    config_args = build_parser().parse_args(["milter", "--config", parser.parse_args().config])
    # Verification costs nothing here, so it runs in the daemon (no verifying processes).
    config = config_from_args(config_args).with_(processes=0)

    class CannedRuntime(Runtime):
        canned = None

        def verify(self, message, *, received_at):
            return self.canned

    def load():
        real = Runtime.load(config)
        runtime = CannedRuntime(**{f.name: getattr(real, f.name) for f in dataclasses.fields(real)})
        CannedRuntime.canned = real.verify(signed_message(), received_at=config.at)
        return runtime

    server = MilterServer(load)
    server.install_signal_handlers()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
