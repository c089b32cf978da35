#!/usr/bin/python3
"""ftpd.py: a pyftpdlib FTP server for the tests, with optional explicit TLS.

usage: ftpd.py --port P --dir D --user U --password PW [--cert C --key K]

Passive data connections use ports the kernel picks, so parallel tests never
fight over a fixed range. With --cert, TLS is required on the control and the
data connections (AUTH TLS, PROT P), as a strict FTPS server does.
"""
import argparse
import logging

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    a = p.parse_args()
    auth = DummyAuthorizer()
    auth.add_user(a.user, a.password, a.dir, perm="elradfmwMT")
    handler = FTPHandler
    if a.cert:
        from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler

        class DTPHandler(TLS_DTPHandler):
            """Debian's pyftpdlib 1.5.7 stops reading a data connection while
            its TLS handshake is still in progress and then closes it, so curl
            sees a reset (upstream issue 604, fixed in 1.5.8): a connection
            that is accepting TLS is readable."""

            def readable(self):
                return self._ssl_accepting or super().readable()

        handler = TLS_FTPHandler
        handler.dtp_handler = DTPHandler
        handler.certfile = a.cert
        handler.keyfile = a.key
        handler.tls_control_required = True
        handler.tls_data_required = True
    handler.authorizer = auth
    handler.permit_foreign_addresses = False
    logging.basicConfig(level=logging.WARNING)
    server = FTPServer(("127.0.0.1", a.port), handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
