"""Lab-local stand-ins for the seed's internet HTTPS checks.

GitHub (expects 200) and Notion API (expects 403) are replaced by two HTTPS listeners on
lab bridge addresses, so no lab run ever reaches the internet.
"""
import argparse
import http.server
import ssl
import threading


def handler_for(status):
    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 5  # a client that stalls mid-handshake only holds its own thread

        def setup(self):
            # The TLS handshake runs here, in the request's own thread: done in accept() it would
            # serialise every client behind the slowest one (30 vantages at once timed out).
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
            super().setup()

        def do_GET(self):
            body = b'{"standin": true}\n'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET

        def log_message(self, fmt, *args):
            pass

    return Handler


def serve(addr, port, status, context):
    server = http.server.ThreadingHTTPServer((addr, port), handler_for(status))
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ok", required=True, help="address answering 200")
    parser.add_argument("--forbidden", required=True, help="address answering 403")
    parser.add_argument("--port", type=int, default=443)
    args = parser.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    threads = [threading.Thread(target=serve, args=(a, args.port, s, context), daemon=True)
               for a, s in ((args.ok, 200), (args.forbidden, 403))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
