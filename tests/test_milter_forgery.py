"""Forged Authentication-Results naming our authserv-id, in every spelling RFC 8601 and a mail
reader allow, are removed by the real milter; other servers' results are kept."""

from __future__ import annotations

import pytest
from milter_support import AUTHSERV, MilterStarter, unsigned_message
from miltertest import constants as mc

from sigmail.milter.headers import claims_authserv_id

# (how the forgery is spelled, the Authentication-Results value). Each names mx.sigmail.test.
FORGERIES = [
    ("plain", "mx.sigmail.test; smime=pass"),
    ("upper case", "MX.SIGMAIL.TEST; smime=pass"),
    ("mixed case and version", "Mx.Sigmail.Test 1; smime=pass"),
    ("quoted-string", '"mx.sigmail.test"; smime=pass'),
    ("quoted, upper case, trailing dot", '"MX.Sigmail.Test."; smime=pass'),
    ("quoted with a quoted-pair", '"mx\\.sigmail.test"; smime=pass'),
    ("quoted inside comments", '(relay) "mx.sigmail.test" (checked); smime=pass'),
    ("trailing dot", "mx.sigmail.test.; smime=pass"),
    ("trailing dot, no space before ;", "mx.sigmail.test.;smime=pass"),
    ("RFC 2047 Q", "=?utf-8?q?mx.sigmail.test?=; smime=pass"),
    ("RFC 2047 B", "=?UTF-8?B?bXguc2lnbWFpbC50ZXN0?=; smime=pass"),
    ("RFC 2047 split in two words", "=?utf-8?q?mx.sig?= =?utf-8?q?mail.test?=; smime=pass"),
    ("RFC 2047 inside quotes", '"=?utf-8?q?MX.sigmail.test.?="; smime=pass'),
    ("full-width dots", "mx\uff0esigmail\uff0etest; smime=pass"),
    ("folded", "\n\tmx.sigmail.test\n\t; smime=pass"),
    ("comment only before", "(our own, honest) mx.sigmail.test; none"),
    ("broken after the id", "mx.sigmail.test; smime=pass (unclosed"),
]

# Other servers' results, which must survive.
OTHERS = [
    ("another server", "relay.example.net; spf=pass smtp.mailfrom=a@example.net"),
    ("our name as a suffix", "evil.mx.sigmail.test; smime=pass"),
    ("our name as a prefix", "mx.sigmail.test.evil.example; smime=pass"),
    ("our name in a comment after", "evil.example (mx.sigmail.test); smime=pass"),
    ("our name quoted after", 'evil.example; smime=pass reason="mx.sigmail.test"'),
]


@pytest.mark.parametrize(("how", "value"), FORGERIES, ids=[f[0] for f in FORGERIES])
def test_claims_our_authserv_id(how, value):
    assert claims_authserv_id(value, AUTHSERV)
    assert claims_authserv_id(value.encode(), "MX.sigmail.test.")


@pytest.mark.parametrize(("how", "value"), OTHERS, ids=[o[0] for o in OTHERS])
def test_other_servers_are_not_ours(how, value):
    assert not claims_authserv_id(value, AUTHSERV)


def test_the_daemon_removes_every_forgery_and_keeps_the_rest(responder):
    """One message carrying all the forgeries and all the others, through a real milter: each
    forgery gets a delete (change-header with an empty value) at its index, nothing else."""
    values = [v for _, v in FORGERIES] + [v for _, v in OTHERS]
    extra = [f"Authentication-Results: {v}".replace("\n", "\r\n") for v in values]
    with MilterStarter() as start:
        running = start()
        with running.client() as mta:
            reply = mta.send_message(unsigned_message(extra_headers=extra))
    changed = [
        args
        for code, args in reply.changes
        if code == mc.SMFIR_CHGHEADER and args["name"].lower() == "authentication-results"
    ]
    assert all(args["value"] == "" for args in changed)
    deleted = sorted(args["index"] for args in changed)
    assert deleted == list(range(1, len(FORGERIES) + 1))
    assert reply.action == "accept"
