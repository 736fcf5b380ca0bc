//! `POST` to a TSA over plain HTTP/1.1, with hyper's client connection on a small
//! current-thread tokio runtime, so that the stamper's own thread can wait on it.
//!
//! One connection per request (`Connection: close`), all of it (resolving, connecting,
//! sending, the reply) within one timeout. Only `200` answers are taken; a reply over 1 MiB is
//! refused.

use std::cell::Cell;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{ACCEPT, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;

use super::TimestampError;

/// The largest reply taken.
const MAX_REPLY: usize = 1 << 20;

/// An HTTP client for one thread: a current-thread runtime that runs one request at a time.
pub struct HttpClient {
    runtime: tokio::runtime::Runtime,
}

impl HttpClient {
    /// A client for the calling thread (which must not be inside a tokio runtime).
    pub fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        Ok(Self { runtime })
    }

    /// `POST`s `body` to an `http://` URL and returns the `200` reply's body, all within
    /// `timeout`.
    pub fn post(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, TimestampError> {
        let bad = |why: String| TimestampError::Http(format!("{url}: {why}"));
        let uri: Uri = url.parse().map_err(|e| bad(format!("not a URL: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad("only http:// is supported".into()));
        }
        let host = uri.host().ok_or_else(|| bad("no host".into()))?;
        let port = uri.port_u16().unwrap_or(80);
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or(host);
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let request = Request::post(path)
            .header(HOST, authority)
            .header(CONTENT_TYPE, content_type)
            .header(ACCEPT, "application/timestamp-reply")
            .header(CONTENT_LENGTH, body.len())
            .header(CONNECTION, "close")
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| bad(e.to_string()))?;
        // Where the exchange is, for the message when it times out.
        let stage = Cell::new("connecting");
        let exchange = async {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let addr = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| bad(format!("cannot resolve: {e}")))?
                .next()
                .ok_or_else(|| bad("no address".into()))?;
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| bad(format!("cannot connect: {e}")))?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| bad(format!("cannot connect: {e}")))?;
            let connection = tokio::spawn(connection);
            stage.set("waiting for the reply");
            let reply = sender
                .send_request(request)
                .await
                .map_err(|e| bad(format!("cannot read the reply: {e}")))?;
            if reply.status() != StatusCode::OK {
                let reason = reply
                    .extensions()
                    .get::<hyper::ext::ReasonPhrase>()
                    .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
                    .or_else(|| reply.status().canonical_reason().map(str::to_owned))
                    .unwrap_or_default();
                let line = format!("{:?} {} {reason}", reply.version(), reply.status().as_u16());
                return Err(bad(format!("answered {:?}", line.trim_end())));
            }
            let body = Limited::new(reply.into_body(), MAX_REPLY)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        bad("reply larger than 1 MiB".into())
                    } else {
                        bad(format!("cannot read the reply: {e}"))
                    }
                })?
                .to_bytes();
            connection.abort();
            Ok(body.to_vec())
        };
        self.runtime
            .block_on(async { tokio::time::timeout(timeout, exchange).await })
            .unwrap_or_else(|_| {
                let stage = stage.get();
                Err(bad(if stage == "waiting for the reply" {
                    format!("timed out after {timeout:?} {stage}")
                } else {
                    format!("timed out after {timeout:?} ({stage})")
                }))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// Serves one connection: reads the request, answers `reply`, and returns the request.
    fn serve_once(reply: &'static [u8]) -> (String, std::thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/tsr?x=1", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.ends_with(b"body") {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
            }
            conn.write_all(reply).unwrap();
            request
        });
        (url, handle)
    }

    #[test]
    fn posts_and_reads_bodies_by_length_and_by_chunks() {
        let client = HttpClient::new().unwrap();
        let (url, server) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
        let body = client
            .post(&url, "application/x-test", b"body", Duration::from_secs(5))
            .unwrap();
        assert_eq!(body, b"abc");
        let request = String::from_utf8(server.join().unwrap()).unwrap();
        assert!(
            request.starts_with("POST /tsr?x=1 HTTP/1.1\r\n"),
            "{request}"
        );
        let lower = request.to_ascii_lowercase();
        for header in [
            "content-type: application/x-test\r\n",
            "content-length: 4\r\n",
            "accept: application/timestamp-reply\r\n",
        ] {
            assert!(lower.contains(header), "{request}");
        }
        let (url, _server) = serve_once(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n",
        );
        let body = client
            .post(&url, "application/x-test", b"body", Duration::from_secs(5))
            .unwrap();
        assert_eq!(body, b"abc");
        let (url, _server) = serve_once(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
        let err = client
            .post(&url, "application/x-test", b"body", Duration::from_secs(5))
            .unwrap_err();
        assert!(
            err.to_string().contains("answered \"HTTP/1.1 503 Busy\""),
            "{err}"
        );
        let err = client
            .post(
                "https://example.invalid/",
                "a/b",
                b"",
                Duration::from_secs(1),
            )
            .unwrap_err();
        assert!(err.to_string().contains("only http://"), "{err}");
    }
}
