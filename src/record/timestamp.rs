//! RFC 3161 time-stamping of recordings by an outside time-stamping authority (TSA).
//!
//! Off unless `record.tsa_url` is set. What is stamped, and where the token goes:
//! - When a segment closes, its chain entry: the imprint is the segment's `entry_hash` (the
//!   SHA-256 of its chain line, which commits to every earlier segment through the chain).
//!   The reply is kept as `chain-NNNNN.tsr` (`NNNNN` the segment's index).
//! - When the manifest is sealed at the end, the manifest itself: the imprint is the SHA-256
//!   of the exact bytes of the signed `manifest.json`. The reply is kept as `manifest.json.tsr`.
//!
//! Each request is a DER `TimeStampReq` (version 1, SHA-256, a random 64-bit nonce,
//! `certReq` true) sent by `POST` with `Content-Type: application/timestamp-query`. Once the
//! reply's status is granted and its imprint and nonce are ours, its `TimeStampToken` (a DER
//! CMS `ContentInfo`, every byte of it either signed or checked) is stored, so that
//! `openssl ts -verify -token_in -in FILE` reads it directly (docs/VERIFY.md).
//!
//! A TSA that is down or slow never holds up the recording: requests go through their own
//! thread ([`Stamper`]) with a timeout each. Every outcome, a failure included, is logged
//! through `tracing` and written to `timestamps.json` beside the manifest.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::manifest::{hex, sha256_hex, write_atomic, MANIFEST_FILE};
use super::recorder::utc_text;

/// The token over the sealed manifest.
pub const MANIFEST_TOKEN_FILE: &str = "manifest.json.tsr";
/// Every time-stamp request and its outcome (not signed: the tokens carry their own proof).
pub const INDEX_FILE: &str = "timestamps.json";
/// DER of the SHA-256 OID, 2.16.840.1.101.3.4.2.1.
const SHA256_OID: [u8; 9] = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
/// DER of id-signedData, 1.2.840.113549.1.7.2.
const SIGNED_DATA_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
/// DER of id-ct-TSTInfo, 1.2.840.113549.1.9.16.1.4.
const TST_INFO_OID: [u8; 11] = [
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];

/// Errors while time-stamping or reading a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The TSA could not be reached, or answered something other than `200`.
    #[error("TSA request failed: {0}")]
    Http(String),
    /// The TSA refused the request (`PKIStatus` other than granted).
    #[error("TSA refused the request: status {0}")]
    Refused(u32),
    /// The reply or token is not the DER structure RFC 3161 describes.
    #[error("malformed time-stamp reply: {0}")]
    Malformed(String),
    /// The token does not answer our request (another imprint, nonce or hash).
    #[error("time-stamp token does not match the request: {0}")]
    Mismatch(String),
    /// Writing the token or the index failed.
    #[error("time-stamp I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// The token file for segment `index`'s chain entry: `chain-00003.tsr`.
pub fn chain_token_file(index: u32) -> String {
    format!("chain-{index:05}.tsr")
}

/// The segment index in a chain token's file name, if it is one.
pub fn parse_chain_token_file(name: &str) -> Option<u32> {
    name.strip_prefix("chain-")?
        .strip_suffix(".tsr")
        .filter(|n| n.len() == 5)?
        .parse()
        .ok()
}

// ------------------------------------------------------------------------------------------
// DER

fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = (len as u64)
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// A non-negative DER INTEGER from big-endian bytes (minimal: leading zeros dropped, one
/// added where the high bit is set).
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    der(0x02, &v)
}

/// The DER `TimeStampReq` for a SHA-256 `imprint`, with `nonce` and `certReq` true:
/// `SEQUENCE { 1, SEQUENCE { SEQUENCE { sha256, NULL }, OCTET STRING imprint }, nonce, TRUE }`.
pub fn request_der(imprint: &[u8; 32], nonce: &[u8]) -> Vec<u8> {
    let alg = der(0x30, &[der(0x06, &SHA256_OID), vec![0x05, 0x00]].concat());
    let message_imprint = der(0x30, &[alg, der(0x04, imprint)].concat());
    der(
        0x30,
        &[
            der_uint(&[1]),
            message_imprint,
            der_uint(nonce),
            vec![0x01, 0x01, 0xff],
        ]
        .concat(),
    )
}

/// One DER element: its tag, its contents, and the whole encoding.
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

fn malformed(what: &str) -> TimestampError {
    TimestampError::Malformed(what.to_owned())
}

/// Reads one element off the front of `input`; returns it and the rest.
fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TimestampError> {
    let (&tag, rest) = input.split_first().ok_or_else(|| malformed("truncated"))?;
    if tag & 0x1f == 0x1f {
        return Err(malformed("multi-byte tags are not used by RFC 3161"));
    }
    let (&first, mut rest) = rest.split_first().ok_or_else(|| malformed("truncated"))?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(malformed("bad length (indefinite lengths are not DER)"));
        }
        let len = rest[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(malformed("an element runs past the end"));
    }
    let header = input.len() - rest.len();
    Ok((
        Tlv {
            tag,
            content: &rest[..len],
            whole: &input[..header + len],
        },
        &rest[len..],
    ))
}

/// Reads an element with tag `tag`.
fn expect<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<(Tlv<'a>, &'a [u8]), TimestampError> {
    let (tlv, rest) = read_tlv(input)?;
    if tlv.tag != tag {
        return Err(TimestampError::Malformed(format!(
            "{what}: tag {:#04x}, expected {tag:#04x}",
            tlv.tag
        )));
    }
    Ok((tlv, rest))
}

/// A DER INTEGER's value when it fits in 32 bits.
fn small_uint(content: &[u8]) -> Option<u32> {
    if content.len() > 5 {
        return None;
    }
    Some(content.iter().fold(0u64, |a, b| (a << 8) | *b as u64) as u32)
}

/// A TSA's reply: its status and, when granted, the token (a CMS `ContentInfo`, DER).
#[derive(Debug, Clone)]
pub struct Reply<'a> {
    /// `PKIStatus`: 0 granted, 1 granted with modifications, 2 and above refused.
    pub status: u32,
    /// The `TimeStampToken`.
    pub token: Option<&'a [u8]>,
}

/// Parses a DER `TimeStampResp`.
pub fn parse_reply(der: &[u8]) -> Result<Reply<'_>, TimestampError> {
    let (resp, _) = expect(der, 0x30, "TimeStampResp")?;
    let (status_info, rest) = expect(resp.content, 0x30, "PKIStatusInfo")?;
    let (status, _) = expect(status_info.content, 0x02, "PKIStatus")?;
    let status = small_uint(status.content).ok_or_else(|| malformed("PKIStatus too large"))?;
    let token = if rest.is_empty() {
        None
    } else {
        Some(expect(rest, 0x30, "TimeStampToken")?.0.whole)
    };
    Ok(Reply { status, token })
}

/// What a token says: the imprint it stamps and when.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenInfo {
    /// Whether the imprint is a SHA-256.
    pub sha256: bool,
    /// The stamped hash.
    pub imprint: Vec<u8>,
    /// `genTime` as the TSA wrote it (`YYYYMMDDhhmmss[.f]Z`).
    pub gen_time: String,
    /// The nonce echoed back, big-endian, without leading zeros.
    pub nonce: Option<Vec<u8>>,
    /// The TSA's serial number for this token, hex.
    pub serial: String,
}

/// Hash OIDs (DER contents) a token may use: SHA-256, SHA-384, SHA-512.
const HASH_OIDS: [&[u8]; 3] = [
    &SHA256_OID,
    &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02],
    &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03],
];

/// An `AlgorithmIdentifier` whose parameters are absent or exactly `NULL`; returns its OID.
fn plain_algorithm<'a>(alg: Tlv<'a>, what: &str) -> Result<&'a [u8], TimestampError> {
    let (oid, params) = expect(alg.content, 0x06, what)?;
    if !(params.is_empty() || params == [0x05, 0x00]) {
        return Err(TimestampError::Malformed(format!(
            "{what}: unexpected parameters"
        )));
    }
    Ok(oid.content)
}

/// The fields of `SignedData` that its signature does not cover must be what RFC 3161 and
/// RFC 5652 say, so that no byte of a token can change unnoticed: version 3, known digest
/// algorithms, one `SignerInfo` of version 1 or 3 whose signature algorithm matches its digest
/// algorithm, and no unsigned attributes.
fn check_unsigned_fields(sd: &[u8]) -> Result<(), TimestampError> {
    let (version, rest) = expect(sd, 0x02, "SignedData version")?;
    if version.content != [3] {
        return Err(malformed("SignedData version is not 3"));
    }
    let (digests, mut rest) = expect(rest, 0x31, "digestAlgorithms")?;
    let mut list = digests.content;
    while !list.is_empty() {
        let (alg, more) = expect(list, 0x30, "digestAlgorithm")?;
        if !HASH_OIDS.contains(&plain_algorithm(alg, "digestAlgorithm")?) {
            return Err(malformed("digestAlgorithms: unknown hash"));
        }
        list = more;
    }
    let (_, more) = expect(rest, 0x30, "encapContentInfo")?;
    rest = more;
    let mut signers = None;
    while !rest.is_empty() {
        let (el, more) = read_tlv(rest)?;
        match el.tag {
            0xa0 | 0xa1 => {} // certificates, checked by the chain; CRLs
            0x31 if more.is_empty() => signers = Some(el.content),
            _ => return Err(malformed("SignedData: unexpected element")),
        }
        rest = more;
    }
    let signers = signers.ok_or_else(|| malformed("SignedData: no signerInfos"))?;
    let (si, more) = expect(signers, 0x30, "SignerInfo")?;
    if !more.is_empty() {
        return Err(malformed("more than one SignerInfo"));
    }
    let (version, rest) = expect(si.content, 0x02, "SignerInfo version")?;
    let (sid, rest) = read_tlv(rest)?;
    match (version.content, sid.tag) {
        ([1], 0x30) | ([3], 0x80) => {}
        _ => return Err(malformed("SignerInfo version does not match its signer id")),
    }
    let (digest, rest) = expect(rest, 0x30, "SignerInfo digestAlgorithm")?;
    let digest = plain_algorithm(digest, "SignerInfo digestAlgorithm")?;
    let hash = HASH_OIDS
        .iter()
        .position(|h| *h == digest)
        .ok_or_else(|| malformed("SignerInfo digestAlgorithm: unknown hash"))?;
    let (_, rest) = expect(rest, 0xa0, "signedAttrs")?;
    let (sig_alg, rest) = expect(rest, 0x30, "signatureAlgorithm")?;
    let (oid, params) = expect(sig_alg.content, 0x06, "signatureAlgorithm")?;
    let ecdsa = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    let pkcs1 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    let fits = match oid.content {
        // ecdsa-with-SHA256/384/512, no parameters.
        [head @ .., last] if head == ecdsa => params.is_empty() && *last as usize == 2 + hash,
        // sha256/384/512WithRSAEncryption, or rsaEncryption; NULL parameters.
        [head @ .., last] if head == pkcs1 && params == [0x05, 0x00] => {
            *last == 0x01 || *last as usize == 0x0b + hash
        }
        // RSASSA-PSS: its parameters name the hash, and the signature covers their use.
        [head @ .., 0x0a] if head == pkcs1 => !params.is_empty(),
        // Ed25519 signs with SHA-512.
        [0x2b, 0x65, 0x70] => params.is_empty() && hash == 2,
        _ => false,
    };
    if !fits {
        return Err(malformed(
            "signatureAlgorithm does not match the digest algorithm",
        ));
    }
    let (_, rest) = expect(rest, 0x04, "signature")?;
    if !rest.is_empty() {
        return Err(malformed(
            "unsigned attributes (not covered by the signature) are not accepted",
        ));
    }
    Ok(())
}

/// Reads the `TSTInfo` inside a token (a CMS `ContentInfo` holding `SignedData`), and checks
/// that the parts the signature does not cover are as they must be. This does not check the
/// signature; [`openssl_check`] does.
pub fn token_info(token: &[u8]) -> Result<TokenInfo, TimestampError> {
    let (ci, trailing) = expect(token, 0x30, "ContentInfo")?;
    if !trailing.is_empty() {
        return Err(malformed("bytes after the token"));
    }
    let (ctype, rest) = expect(ci.content, 0x06, "contentType")?;
    if ctype.content != SIGNED_DATA_OID {
        return Err(malformed("the token is not CMS SignedData"));
    }
    let (explicit, more) = expect(rest, 0xa0, "content")?;
    let (sd, after) = expect(explicit.content, 0x30, "SignedData")?;
    if !more.is_empty() || !after.is_empty() {
        return Err(malformed("bytes after the SignedData"));
    }
    check_unsigned_fields(sd.content)?;
    let (_, rest) = expect(sd.content, 0x02, "SignedData version")?;
    let (_, rest) = expect(rest, 0x31, "digestAlgorithms")?;
    let (encap, _) = expect(rest, 0x30, "encapContentInfo")?;
    let (etype, rest) = expect(encap.content, 0x06, "eContentType")?;
    if etype.content != TST_INFO_OID {
        return Err(malformed("the signed content is not a TSTInfo"));
    }
    let (econtent, _) = expect(rest, 0xa0, "eContent")?;
    let (octets, _) = expect(econtent.content, 0x04, "eContent octets")?;
    let (tst, _) = expect(octets.content, 0x30, "TSTInfo")?;
    let (_, rest) = expect(tst.content, 0x02, "TSTInfo version")?;
    let (_, rest) = expect(rest, 0x06, "policy")?;
    let (mi, rest) = expect(rest, 0x30, "messageImprint")?;
    let (alg, after_alg) = expect(mi.content, 0x30, "hashAlgorithm")?;
    let (oid, _) = expect(alg.content, 0x06, "hashAlgorithm OID")?;
    let (hashed, _) = expect(after_alg, 0x04, "hashedMessage")?;
    let (serial, rest) = expect(rest, 0x02, "serialNumber")?;
    let (gen_time, mut rest) = expect(rest, 0x18, "genTime")?;
    let mut nonce = None;
    while !rest.is_empty() {
        let (el, more) = read_tlv(rest)?;
        if el.tag == 0x02 {
            let v: Vec<u8> = el.content.iter().copied().skip_while(|b| *b == 0).collect();
            nonce = Some(v);
        }
        rest = more;
    }
    Ok(TokenInfo {
        sha256: oid.content == SHA256_OID,
        imprint: hashed.content.to_vec(),
        gen_time: String::from_utf8_lossy(gen_time.content).into_owned(),
        nonce,
        serial: hex(serial.content),
    })
}

/// The token inside a stored reply file's bytes, checked to be granted.
pub fn token_of_reply(der: &[u8]) -> Result<&[u8], TimestampError> {
    let reply = parse_reply(der)?;
    if reply.status > 1 {
        return Err(TimestampError::Refused(reply.status));
    }
    reply
        .token
        .ok_or_else(|| malformed("a granted reply without a token"))
}

// ------------------------------------------------------------------------------------------
// HTTP

/// `POST`s `body` to an `http://` URL and returns the `200` reply's body, all within
/// `timeout`.
pub fn post(
    url: &str,
    content_type: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, TimestampError> {
    let bad = |why: String| TimestampError::Http(format!("{url}: {why}"));
    let deadline = Instant::now() + timeout;
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http:// is supported".into()))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let with_port = if host.contains(':') && !host.ends_with(']') {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| bad(format!("cannot resolve: {e}")))?
        .next()
        .ok_or_else(|| bad("no address".into()))?;
    let left = |what: &str| {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| bad(format!("timed out after {timeout:?} ({what})")))
    };
    let mut stream = TcpStream::connect_timeout(&addr, left("connecting")?)
        .map_err(|e| bad(format!("cannot connect: {e}")))?;
    stream
        .set_write_timeout(Some(left("sending")?))
        .map_err(|e| bad(e.to_string()))?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nAccept: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(body))
        .map_err(|e| bad(format!("cannot send: {e}")))?;
    let mut response = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        stream
            .set_read_timeout(Some(left("waiting for the reply")?))
            .map_err(|e| bad(e.to_string()))?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(bad(format!(
                    "timed out after {timeout:?} waiting for the reply"
                )))
            }
            Err(e) => return Err(bad(format!("cannot read the reply: {e}"))),
        }
        if response.len() > 1 << 20 {
            return Err(bad("reply larger than 1 MiB".into()));
        }
        if let Some(done) = complete_body(&response) {
            return done.map_err(bad);
        }
    }
    complete_body(&response)
        .unwrap_or_else(|| Err("the connection closed before the reply was complete".into()))
        .map_err(bad)
}

/// The body of a complete HTTP response, `None` while more is needed.
fn complete_body(response: &[u8]) -> Option<Result<Vec<u8>, String>> {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let body = &response[split + 4..];
    let status = head.lines().next().unwrap_or("");
    if !(status.starts_with("HTTP/1.1 200") || status.starts_with("HTTP/1.0 200")) {
        return Some(Err(format!("answered {status:?}")));
    }
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        return (body.len() >= len).then(|| Ok(body[..len].to_vec()));
    }
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut out = Vec::new();
        let mut rest = body;
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_text = String::from_utf8_lossy(&rest[..line_end]).to_string();
            let size = match usize::from_str_radix(size_text.split(';').next()?.trim(), 16) {
                Ok(s) => s,
                Err(_) => return Some(Err("bad chunk size".into())),
            };
            rest = &rest[line_end + 2..];
            if size == 0 {
                return Some(Ok(out));
            }
            if rest.len() < size + 2 {
                return None;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
    }
    None
}

/// Asks the TSA at `url` to stamp `imprint`; returns the reply (DER `TimeStampResp`) once it
/// is granted and its token stamps `imprint` with our nonce.
pub fn request_token(
    url: &str,
    imprint: &[u8; 32],
    timeout: Duration,
) -> Result<Vec<u8>, TimestampError> {
    let mut nonce = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    nonce[0] |= 0x01; // never all zero
    let query = request_der(imprint, &nonce);
    let reply = post(url, "application/timestamp-query", &query, timeout)?;
    let token = token_of_reply(&reply)?;
    let info = token_info(token)?;
    if !info.sha256 || info.imprint != imprint {
        return Err(TimestampError::Mismatch("another imprint".into()));
    }
    let ours: Vec<u8> = nonce.iter().copied().skip_while(|b| *b == 0).collect();
    if info.nonce.as_deref() != Some(ours.as_slice()) {
        return Err(TimestampError::Mismatch("another nonce".into()));
    }
    Ok(reply)
}

// ------------------------------------------------------------------------------------------
// The stamper thread and the index

/// One line of `timestamps.json`: a request and how it went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexEntry {
    /// The token's file name (`chain-00003.tsr`, `manifest.json.tsr`).
    pub token: String,
    /// What was stamped, in words (`segment 3 chain entry`, `manifest.json`).
    pub target: String,
    /// The stamped SHA-256, hex.
    pub imprint: String,
    /// When it was asked, RFC 3339 UTC.
    pub requested_at: String,
    /// `ok` or `failed`.
    pub outcome: String,
    /// Why it failed.
    pub error: Option<String>,
    /// The TSA's time in the token.
    pub gen_time: Option<String>,
}

/// Reads `dir/timestamps.json` (empty when there is none).
pub fn read_index(dir: &Path) -> Vec<IndexEntry> {
    std::fs::read(dir.join(INDEX_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Something to stamp.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// The token's file name.
    pub token: String,
    /// What it is, in words.
    pub target: String,
    /// The SHA-256 to stamp.
    pub imprint: [u8; 32],
    /// Only keep the token if `manifest.json` still hashes to `imprint` when it arrives.
    pub of_manifest: bool,
}

/// Where and how to time-stamp.
#[derive(Debug, Clone)]
pub struct TsaOptions {
    /// `http://...` of the TSA.
    pub url: String,
    /// Limit of one request.
    pub timeout: Duration,
}

/// The thread that asks the TSA, one request at a time, so that the recording never waits.
pub struct Stamper {
    tx: mpsc::Sender<Stamp>,
    handle: JoinHandle<()>,
}

impl Stamper {
    /// Starts the thread for the recording in `dir`.
    pub fn start(dir: &Path, tsa: TsaOptions) -> Self {
        let (tx, rx) = mpsc::channel::<Stamp>();
        let dir = dir.to_owned();
        let handle = std::thread::Builder::new()
            .name("rec-tsa".into())
            .spawn(move || {
                let mut index = read_index(&dir);
                while let Ok(stamp) = rx.recv() {
                    index.push(stamp_one(&dir, &tsa, &stamp));
                    if let Err(e) = write_atomic(
                        &dir.join(INDEX_FILE),
                        &serde_json::to_vec_pretty(&index).unwrap_or_default(),
                    ) {
                        tracing::warn!(dir = %dir.display(), "cannot write {INDEX_FILE}: {e}");
                    }
                }
            })
            .expect("spawn the time-stamp thread");
        Self { tx, handle }
    }

    /// Queues a stamp; returns at once.
    pub fn stamp(&self, stamp: Stamp) {
        let _ = self.tx.send(stamp);
    }

    /// No more stamps: the thread finishes what is queued, then ends.
    pub fn close(self) -> Pending {
        drop(self.tx);
        Pending(Some(self.handle))
    }
}

/// Stamps still being asked for after a recording finished.
#[derive(Debug, Default)]
pub struct Pending(Option<JoinHandle<()>>);

impl Pending {
    /// Waits up to `timeout` for every queued stamp to be answered or given up. Returns
    /// whether they all were; if not, they go on in the background.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let Some(handle) = self.0.as_ref() else {
            return true;
        };
        while !handle.is_finished() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
        true
    }
}

fn stamp_one(dir: &Path, tsa: &TsaOptions, stamp: &Stamp) -> IndexEntry {
    let requested_at = utc_text(Utc::now());
    let result = request_token(&tsa.url, &stamp.imprint, tsa.timeout).and_then(|reply| {
        if stamp.of_manifest {
            let now = std::fs::read(dir.join(MANIFEST_FILE))?;
            if sha256_hex(&now) != hex(&stamp.imprint) {
                return Err(TimestampError::Mismatch(
                    "manifest.json changed while the TSA answered".into(),
                ));
            }
        }
        let token = token_of_reply(&reply)?;
        let gen_time = token_info(token).map(|i| i.gen_time).ok();
        write_atomic(&dir.join(&stamp.token), token)?;
        Ok(gen_time)
    });
    let mut entry = IndexEntry {
        token: stamp.token.clone(),
        target: stamp.target.clone(),
        imprint: hex(&stamp.imprint),
        requested_at,
        outcome: "ok".into(),
        error: None,
        gen_time: None,
    };
    match result {
        Ok(gen_time) => {
            tracing::debug!(dir = %dir.display(), token = %stamp.token, "time-stamped {}", stamp.target);
            entry.gen_time = gen_time;
        }
        Err(e) => {
            tracing::warn!(dir = %dir.display(), tsa = %tsa.url, "cannot time-stamp {}: {e}; the recording goes on without this token", stamp.target);
            entry.outcome = "failed".into();
            entry.error = Some(e.to_string());
        }
    }
    entry
}

// ------------------------------------------------------------------------------------------
// Checking a token's signature with openssl

/// Checks a stored token's CMS signature with the `openssl` command: with `ca`, the full
/// `openssl ts -verify -digest IMPRINT -token_in -in FILE -CAfile CA` (signature, imprint, the
/// TSA's certificate and its chain to `ca`); without, `openssl cms -verify -noverify` (the
/// signature over the signed content only). `Err` says what openssl said.
pub fn openssl_check(
    token_file: &Path,
    imprint_hex: &str,
    ca: Option<&Path>,
) -> Result<(), String> {
    let out = match ca {
        Some(ca) => std::process::Command::new("openssl")
            .args(["ts", "-verify", "-digest", imprint_hex, "-token_in", "-in"])
            .arg(token_file)
            .arg("-CAfile")
            .arg(ca)
            .output(),
        None => std::process::Command::new("openssl")
            .args([
                "cms",
                "-verify",
                "-noverify",
                "-binary",
                "-inform",
                "DER",
                "-out",
            ])
            .arg(null_device())
            .arg("-in")
            .arg(token_file)
            .output(),
    }
    .map_err(|e| format!("cannot run openssl: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let brief: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Using configuration"))
        .take(3)
        .collect();
    Err(format!("openssl: {}", brief.join("; ")))
}

fn null_device() -> PathBuf {
    PathBuf::from("/dev/null")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_matches_what_openssl_ts_query_writes() {
        // `openssl ts -query -digest 5891...be03 -sha256 -cert` with nonce 0x64fd1af8820ef703.
        let imprint: [u8; 32] = [
            0x58, 0x91, 0xb5, 0xb5, 0x22, 0xd5, 0xdf, 0x08, 0x6d, 0x0f, 0xf0, 0xb1, 0x10, 0xfb,
            0xd9, 0xd2, 0x1b, 0xb4, 0xfc, 0x71, 0x63, 0xaf, 0x34, 0xd0, 0x82, 0x86, 0xa2, 0xe8,
            0x46, 0xf6, 0xbe, 0x03,
        ];
        let nonce = [0x64, 0xfd, 0x1a, 0xf8, 0x82, 0x0e, 0xf7, 0x03];
        let want = concat!(
            "3043020101",
            "3031300d060960864801650304020105000420",
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
            "020864fd1af8820ef703",
            "0101ff"
        );
        assert_eq!(hex(&request_der(&imprint, &nonce)), want);
        // A nonce with the high bit set gets a leading zero; a long one a long-form length.
        let q = request_der(&imprint, &[0x80, 1]);
        assert_eq!(
            &q[q.len() - 8..],
            &[0x02, 0x03, 0x00, 0x80, 0x01, 0x01, 0x01, 0xff]
        );
        let mut long = Vec::new();
        der_len(300, &mut long);
        assert_eq!(long, [0x82, 0x01, 0x2c]);
    }

    #[test]
    fn reader_refuses_truncated_and_indefinite_lengths() {
        assert!(read_tlv(&[0x30, 0x05, 0x01]).is_err());
        assert!(read_tlv(&[0x30, 0x80, 0x00, 0x00]).is_err());
        let (t, rest) = read_tlv(&[0x04, 0x01, 0xaa, 0x05]).unwrap();
        assert_eq!((t.tag, t.content, rest), (0x04, &[0xaa][..], &[0x05][..]));
        assert!(parse_reply(&[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00])
            .unwrap()
            .token
            .is_none());
        assert!(matches!(
            token_of_reply(&[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]),
            Err(TimestampError::Refused(2))
        ));
    }

    #[test]
    fn http_bodies_by_length_and_by_chunks() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(complete_body(r).unwrap().unwrap(), b"abc");
        assert!(complete_body(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabc").is_none());
        let c =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n";
        assert_eq!(complete_body(c).unwrap().unwrap(), b"abc");
        assert!(complete_body(b"HTTP/1.1 503 Busy\r\n\r\n")
            .unwrap()
            .is_err());
        assert_eq!(parse_chain_token_file(&chain_token_file(42)), Some(42));
        assert_eq!(parse_chain_token_file("chain-1.tsr"), None);
    }

    #[test]
    fn a_tsa_that_is_down_fails_fast_and_a_silent_one_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = request_token(
            &format!("http://127.0.0.1:{port}/"),
            &[0; 32],
            Duration::from_secs(5),
        );
        assert!(matches!(err, Err(TimestampError::Http(_))), "{err:?}");
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/tsr", silent.local_addr().unwrap());
        let started = Instant::now();
        let err = request_token(&url, &[0; 32], Duration::from_millis(300)).unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
