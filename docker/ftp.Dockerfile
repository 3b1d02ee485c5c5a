# A small FTP server for the md5sum example: one user (FTP_USER / FTP_PASSWORD) with write access to /srv/ftp.
FROM python:3.11-slim-bookworm
RUN pip install --no-cache-dir 'pyftpdlib==2.2.0' \
    && useradd --system --uid 10002 ftp-user \
    && mkdir -p /srv/ftp && chown ftp-user /srv/ftp
USER 10002
EXPOSE 2121 30000-30009
HEALTHCHECK --interval=10s --timeout=3s CMD ["python", "-c", "import socket; socket.create_connection(('127.0.0.1', 2121), 2)"]
# Passive ports are fixed so that they can be published; MASQUERADE_ADDRESS is what clients outside reach.
CMD ["sh", "-c", "exec python -m pyftpdlib -i 0.0.0.0 -p 2121 -w -d /srv/ftp -u \"$FTP_USER\" -P \"$FTP_PASSWORD\" -r 30000-30009 ${FTP_MASQUERADE_ADDRESS:+--nat-address $FTP_MASQUERADE_ADDRESS}"]
