"""An FTP server whose directory listings lie: for any directory named `evil` its MLSD lists the names given on the
command line (`../../x`, `a/b`, …) next to a real file. For the hostile-task tests; otherwise plain pyftpdlib.

    python hostile_ftp.py ROOT PORT USER PASSWORD NAME...
"""
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

ROOT, PORT, USER, PASSWORD, *NAMES = sys.argv[1:]


class LyingHandler(FTPHandler):
    def ftp_MLSD(self, path):
        if path.rstrip("/").endswith("/evil"):
            lines = "".join(f"type=file;size=5; {name}\r\n" for name in ["real.txt", *NAMES])
            self.push_dtp_data(lines.encode("utf-8", "surrogateescape"), cmd="MLSD")
            return path
        return super().ftp_MLSD(path)


authorizer = DummyAuthorizer()
authorizer.add_user(USER, PASSWORD, ROOT, perm="elradfmw")
LyingHandler.authorizer = authorizer
FTPServer(("127.0.0.1", int(PORT)), LyingHandler).serve_forever()
