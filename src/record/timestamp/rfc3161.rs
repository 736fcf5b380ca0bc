//! The RFC 3161 structures: the `TimeStampReq` we send, the `TimeStampResp` a TSA answers,
//! and the `TimeStampToken` (a CMS `ContentInfo` holding `SignedData` over a `TSTInfo`) we keep.
//!
//! DER comes from RustCrypto's `der`, `cms` and `x509-tsp`. One structure is mirrored here:
//! `TSTInfo`, because `der`'s `GeneralizedTime` takes whole seconds only, while RFC 3161 lets a
//! TSA write fractions (`YYYYMMDDhhmmss[.f]Z`), as many do.
//!
//! A token's CMS signature is checked by `openssl` ([`super::openssl_check`]); what it does not
//! cover is checked here ([`token_info`]), so that no byte of a stored token can change
//! unnoticed.

use cms::cert::x509::ext::pkix::name::GeneralName;
use cms::cert::x509::ext::Extensions;
use cms::cert::x509::spki::AlgorithmIdentifierOwned;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::{Int, ObjectIdentifier, OctetString, Uint};
use der::{
    Any, AnyRef, Decode, DecodeValue, Encode, EncodeValue, FixedTag, Header, Length, Reader,
    Sequence, SliceReader, Tag, Writer,
};
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

use super::TimestampError;
use crate::digest::hex;

/// id-sha256, 2.16.840.1.101.3.4.2.1.
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// The hashes a token may use: SHA-256, SHA-384, SHA-512.
const HASHES: [ObjectIdentifier; 3] = [
    SHA256,
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2"),
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3"),
];
/// ecdsa-with-SHA256/384/512, in the order of [`HASHES`].
const ECDSA_WITH: [ObjectIdentifier; 3] = [
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3"),
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4"),
];
/// sha256/384/512WithRSAEncryption, in the order of [`HASHES`].
const RSA_WITH: [ObjectIdentifier; 3] = [
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11"),
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12"),
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13"),
];
/// rsaEncryption.
const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// RSASSA-PSS.
const RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
/// Ed25519.
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// id-signedData, 1.2.840.113549.1.7.2.
const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-ct-TSTInfo, 1.2.840.113549.1.9.16.1.4.
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

fn malformed(what: &str) -> TimestampError {
    TimestampError::Malformed(what.to_owned())
}

fn undecodable(what: &str, e: der::Error) -> TimestampError {
    TimestampError::Malformed(format!("{what}: {e}"))
}

/// The DER `TimeStampReq` for a SHA-256 `imprint`, with `nonce` (big-endian, unsigned) and
/// `certReq` true.
pub fn request_der(imprint: &[u8; 32], nonce: &[u8]) -> Vec<u8> {
    let request = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: SHA256,
                parameters: Some(Any::null()),
            },
            hashed_message: OctetString::new(imprint.to_vec()).expect("32 bytes fit"),
        },
        req_policy: None,
        nonce: Some(Int::from(Uint::new(nonce).expect("a short nonce fits"))),
        cert_req: true,
        extensions: None,
    };
    request.to_der().expect("a TimeStampReq encodes")
}

/// A TSA's reply: its status and, when granted, the token (a CMS `ContentInfo`, DER).
#[derive(Debug, Clone)]
pub struct Reply<'a> {
    /// `PKIStatus`: 0 granted, 1 granted with modifications, 2 and above refused.
    pub status: u32,
    /// The `TimeStampToken`, its bytes as the TSA sent them.
    pub token: Option<&'a [u8]>,
}

/// Parses a DER `TimeStampResp`.
pub fn parse_reply(der: &[u8]) -> Result<Reply<'_>, TimestampError> {
    let reply = TimeStampResp::from_der(der).map_err(|e| undecodable("TimeStampResp", e))?;
    let status = reply.status.status as u32;
    let token = match reply.time_stamp_token {
        None => None,
        // The bytes after the status: decoding re-sorts sets, so the token is not re-encoded.
        Some(_) => Some(
            AnyRef::from_der(der)
                .and_then(|outer| {
                    let value = outer.value();
                    let mut reader = SliceReader::new(value)?;
                    AnyRef::decode(&mut reader)?;
                    Ok(&value[usize::try_from(reader.position())?..])
                })
                .map_err(|e| undecodable("TimeStampResp", e))?,
        ),
    };
    Ok(Reply { status, token })
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

/// Reads the `TSTInfo` inside a token (a CMS `ContentInfo` holding `SignedData`), and checks
/// that the parts the signature does not cover are as they must be. This does not check the
/// signature; [`super::openssl_check`] does.
pub fn token_info(token: &[u8]) -> Result<TokenInfo, TimestampError> {
    let ci = ContentInfo::from_der(token).map_err(|e| undecodable("ContentInfo", e))?;
    if ci.content_type != SIGNED_DATA {
        return Err(malformed("the token is not CMS SignedData"));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| undecodable("SignedData", e))?;
    check_unsigned_fields(&sd)?;
    let encap = &sd.encap_content_info;
    if encap.econtent_type != TST_INFO {
        return Err(malformed("the signed content is not a TSTInfo"));
    }
    let octets: OctetString = encap
        .econtent
        .as_ref()
        .ok_or_else(|| malformed("eContent: missing"))?
        .decode_as()
        .map_err(|e| undecodable("eContent octets", e))?;
    let tst = TstInfo::from_der(octets.as_bytes()).map_err(|e| undecodable("TSTInfo", e))?;
    Ok(TokenInfo {
        sha256: tst.message_imprint.hash_algorithm.oid == SHA256,
        imprint: tst.message_imprint.hashed_message.as_bytes().to_vec(),
        gen_time: tst.gen_time.0,
        nonce: tst.nonce.map(|n| {
            n.as_bytes()
                .iter()
                .copied()
                .skip_while(|b| *b == 0)
                .collect()
        }),
        serial: hex(tst.serial_number.as_bytes()),
    })
}

/// The hash an `AlgorithmIdentifier` names, as an index into [`HASHES`], when its parameters
/// are absent or exactly `NULL`.
fn plain_hash(alg: &AlgorithmIdentifierOwned, what: &str) -> Result<usize, TimestampError> {
    if alg.parameters.as_ref().is_some_and(|p| *p != Any::null()) {
        return Err(TimestampError::Malformed(format!(
            "{what}: unexpected parameters"
        )));
    }
    HASHES
        .iter()
        .position(|h| *h == alg.oid)
        .ok_or_else(|| TimestampError::Malformed(format!("{what}: unknown hash")))
}

/// The fields of `SignedData` that its signature does not cover must be what RFC 3161 and
/// RFC 5652 say, so that no byte of a token can change unnoticed: version 3, known digest
/// algorithms, one `SignerInfo` of version 1 or 3 whose signature algorithm matches its digest
/// algorithm, signed attributes, and no unsigned attributes.
fn check_unsigned_fields(sd: &SignedData) -> Result<(), TimestampError> {
    if sd.version != CmsVersion::V3 {
        return Err(malformed("SignedData version is not 3"));
    }
    for alg in sd.digest_algorithms.iter() {
        plain_hash(alg, "digestAlgorithms")?;
    }
    let si = match sd.signer_infos.0.as_slice() {
        [si] => si,
        [] => return Err(malformed("SignedData: no signerInfos")),
        _ => return Err(malformed("more than one SignerInfo")),
    };
    match (si.version, &si.sid) {
        (CmsVersion::V1, SignerIdentifier::IssuerAndSerialNumber(_))
        | (CmsVersion::V3, SignerIdentifier::SubjectKeyIdentifier(_)) => {}
        _ => return Err(malformed("SignerInfo version does not match its signer id")),
    }
    let hash = plain_hash(&si.digest_alg, "SignerInfo digestAlgorithm")?;
    if si.signed_attrs.is_none() {
        return Err(malformed("signedAttrs: missing"));
    }
    let sig = &si.signature_algorithm;
    let params_null = sig.parameters.as_ref() == Some(&Any::null());
    let fits = if sig.oid == ECDSA_WITH[hash] {
        // ecdsa-with-SHA256/384/512, no parameters.
        sig.parameters.is_none()
    } else if sig.oid == RSA || sig.oid == RSA_WITH[hash] {
        // rsaEncryption or sha256/384/512WithRSAEncryption; NULL parameters.
        params_null
    } else if sig.oid == RSA_PSS {
        // RSASSA-PSS: its parameters name the hash, and the signature covers their use.
        sig.parameters.is_some() && !params_null
    } else if sig.oid == ED25519 {
        // Ed25519 signs with SHA-512.
        sig.parameters.is_none() && hash == 2
    } else {
        false
    };
    if !fits {
        return Err(malformed(
            "signatureAlgorithm does not match the digest algorithm",
        ));
    }
    if si.unsigned_attrs.is_some() {
        return Err(malformed(
            "unsigned attributes (not covered by the signature) are not accepted",
        ));
    }
    Ok(())
}

/// `TSTInfo` (RFC 3161 2.4.2), as `x509-tsp` has it but with [`GenTime`].
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TstInfo {
    version: TspVersion,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Int,
    gen_time: GenTime,
    #[asn1(optional = "true")]
    accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    ordering: bool,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    extensions: Option<Extensions>,
}

/// A `GeneralizedTime` as the TSA wrote it: `YYYYMMDDhhmmss`, optionally a fraction, then `Z`.
#[derive(Clone, Debug, Eq, PartialEq)]
struct GenTime(String);

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let bytes = reader.read_vec(header.length)?;
        let digits = |b: &[u8]| !b.is_empty() && b.iter().all(u8::is_ascii_digit);
        let fine = match bytes.as_slice() {
            [whole @ .., b'Z'] if whole.len() == 14 => digits(whole),
            [whole @ .., b'Z'] if whole.len() > 15 => {
                digits(&whole[..14]) && whole[14] == b'.' && digits(&whole[15..])
            }
            _ => false,
        };
        match String::from_utf8(bytes) {
            Ok(text) if fine => Ok(Self(text)),
            _ => Err(Self::TAG.value_error()),
        }
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.0.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.0.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_matches_what_openssl_ts_query_writes() {
        // `openssl ts -query -digest 5891...be03 -sha256 -cert` with nonce 0x64fd1af8820ef703.
        let imprint: [u8; 32] = crate::digest::unhex(
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
        )
        .unwrap()
        .try_into()
        .unwrap();
        let nonce = [0x64, 0xfd, 0x1a, 0xf8, 0x82, 0x0e, 0xf7, 0x03];
        let want = concat!(
            "3043020101",
            "3031300d060960864801650304020105000420",
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
            "020864fd1af8820ef703",
            "0101ff"
        );
        assert_eq!(hex(&request_der(&imprint, &nonce)), want);
        // A nonce with the high bit set gets a leading zero.
        let q = request_der(&imprint, &[0x80, 1]);
        assert_eq!(
            &q[q.len() - 8..],
            &[0x02, 0x03, 0x00, 0x80, 0x01, 0x01, 0x01, 0xff]
        );
    }

    #[test]
    fn replies_that_are_not_der_or_not_granted_are_refused() {
        // Truncated, and an indefinite length (BER, not DER).
        assert!(parse_reply(&[0x30, 0x05, 0x01]).is_err());
        assert!(parse_reply(&[0x30, 0x80, 0x30, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00]).is_err());
        let granted_without_token = [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00];
        let reply = parse_reply(&granted_without_token).unwrap();
        assert_eq!((reply.status, reply.token), (0, None));
        assert!(matches!(
            token_of_reply(&granted_without_token),
            Err(TimestampError::Malformed(_))
        ));
        assert!(matches!(
            token_of_reply(&[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]),
            Err(TimestampError::Refused(2))
        ));
        assert!(token_info(&[0x30, 0x03, 0x06, 0x01, 0x00]).is_err());
    }

    #[test]
    fn gen_time_keeps_fractions_and_refuses_other_shapes() {
        let decode = |text: &str| {
            let mut der = vec![0x18, text.len() as u8];
            der.extend_from_slice(text.as_bytes());
            GenTime::from_der(&der).map(|t| t.0)
        };
        assert_eq!(decode("20260101093000Z").unwrap(), "20260101093000Z");
        assert_eq!(decode("20260101093000.25Z").unwrap(), "20260101093000.25Z");
        assert!(decode("20260101093000.Z").is_err());
        assert!(decode("2026010109300Z").is_err());
        assert!(decode("20260101093000+0100").is_err());
    }

    /// A reply from `openssl ts -reply` with fractions of a second in `genTime`: read, checked,
    /// and its signature accepted by [`super::super::openssl_check`]. Skipped without openssl.
    #[test]
    fn a_token_from_openssl_reads_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let run = |args: &[&str]| {
            std::process::Command::new("openssl")
                .args(args)
                .current_dir(d)
                .output()
                .is_ok_and(|o| o.status.success())
        };
        let made_cert = run(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.pem",
            "-days",
            "1",
            "-subj",
            "/CN=t",
            "-addext",
            "extendedKeyUsage=critical,timeStamping",
        ]);
        if !made_cert {
            return; // no openssl here
        }
        std::fs::write(d.join("serial"), "01\n").unwrap();
        std::fs::write(
            d.join("tsa.cnf"),
            format!(
                "[tsa]\ndefault_tsa = t\n[t]\nserial = {0}/serial\ncrypto_device = builtin\n\
                 signer_cert = {0}/tsa.pem\nsigner_key = {0}/tsa.key\nsigner_digest = sha256\n\
                 default_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\n\
                 clock_precision_digits = 3\ness_cert_id_alg = sha256\n",
                d.display()
            ),
        )
        .unwrap();
        let imprint = crate::digest::sha256(b"segment chain entry");
        let nonce = [0x9a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07];
        std::fs::write(d.join("q.tsq"), request_der(&imprint, &nonce)).unwrap();
        assert!(run(&[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "q.tsq",
            "-out",
            "r.tsr"
        ]));
        let reply = std::fs::read(d.join("r.tsr")).unwrap();
        let token = token_of_reply(&reply).unwrap();
        let info = token_info(token).unwrap();
        assert!(info.sha256);
        assert_eq!(info.imprint, imprint);
        assert_eq!(info.nonce.as_deref(), Some(&nonce[..]));
        assert!(
            info.gen_time.ends_with('Z') && info.gen_time.len() >= 15,
            "{info:?}"
        );
        std::fs::write(d.join("t.tsr"), token).unwrap();
        super::super::openssl_check(&d.join("t.tsr"), &hex(&imprint), None).unwrap();
        // The same token with a byte of its TSTInfo changed no longer verifies.
        let mut bad = token.to_vec();
        let at = bad
            .windows(imprint.len())
            .position(|w| w == imprint)
            .unwrap();
        bad[at] ^= 1;
        std::fs::write(d.join("bad.tsr"), &bad).unwrap();
        assert!(super::super::openssl_check(&d.join("bad.tsr"), &hex(&imprint), None).is_err());
    }
}
