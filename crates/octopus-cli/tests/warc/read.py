"""Read WARC files with warcio (the Python WARC library) for tests/warc.rs: one JSON line
per record, with what a replay tool would see of it."""

import base64
import gzip
import json
import sys

from warcio.archiveiterator import ArchiveIterator


def main(paths):
    for path in paths:
        with open(path, "rb") as stream:
            records = ArchiveIterator(stream, check_digests=True)
            for record in records:
                headers = record.rec_headers
                out = {
                    "file": path,
                    "type": record.rec_type,
                    "id": headers.get_header("WARC-Record-ID"),
                    "target": headers.get_header("WARC-Target-URI"),
                    "concurrent": headers.get_header("WARC-Concurrent-To"),
                    "ip": headers.get_header("WARC-IP-Address"),
                    "truncated": headers.get_header("WARC-Truncated"),
                    "protocol": headers.get_header("WARC-Protocol"),
                    "content_type": headers.get_header("Content-Type"),
                }
                if record.http_headers is not None:
                    http = record.http_headers
                    out["status"] = http.get_statuscode()
                    out["statusline"] = http.protocol
                    out["http_headers"] = [[k.lower(), v] for k, v in http.headers]
                # The payload as archived (content encoding kept) ...
                raw = record.raw_stream.read()
                # ... and as a replay tool serves it (content encoding removed).
                out["raw"] = base64.b64encode(raw).decode()
                encoding = record.http_headers and record.http_headers.get_header("Content-Encoding")
                if encoding == "gzip":
                    out["gunzipped"] = gzip.decompress(raw).decode("utf-8")
                out["offset"] = records.get_record_offset()
                if record.rec_type == "warcinfo":
                    out["info"] = raw.decode("utf-8")
                print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
