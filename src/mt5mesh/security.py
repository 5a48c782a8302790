"""Optional CURVE security for the gateway sockets: a server keypair plus a directory of
allowed client public keys (zmq.auth certificate files)."""
import logging
import os

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from mt5mesh.service import ServiceError


class _DenialsAsWarnings(logging.LoggerAdapter):  # type: ignore[type-arg]  # generic only in typeshed
    """pyzmq's authenticator logs its verdicts at debug level; a rejected client is an
    operator-visible event, so DENIED lines are raised to warnings."""

    def debug(self, msg, *args, **kwargs):
        text = msg % args if args else str(msg)
        if "DENIED" in text or "code=400" in text:
            self.logger.warning("CURVE rejected a client: %s", text)
        else:
            self.logger.debug(text)


def start_curve(ctx, secret_key_file, allowed_dir, log):
    """Returns (authenticator, server public key, server secret key)."""
    if not os.path.isfile(secret_key_file):
        raise ServiceError("curve: server secret key file not found: %s" % secret_key_file)
    if not os.path.isdir(allowed_dir):
        raise ServiceError("curve: allowed client keys directory not found: %s" % allowed_dir)
    public, secret = zmq.auth.load_certificate(secret_key_file)
    if not secret:
        raise ServiceError("curve: %s holds no secret key" % secret_key_file)
    auth = ThreadAuthenticator(ctx, log=_DenialsAsWarnings(log, {}))
    auth.start()
    auth.configure_curve(domain="*", location=allowed_dir)
    log.info("curve: on, %d allowed client keys in %s", len(os.listdir(allowed_dir)), allowed_dir)
    return auth, public, secret


def make_server(sock, public, secret):
    sock.curve_secretkey = secret
    sock.curve_publickey = public
    sock.curve_server = True
