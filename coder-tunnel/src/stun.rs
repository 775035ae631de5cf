//! STUN Binding requests and responses (RFC 8489, formerly RFC 5389), sans-IO: just enough of
//! the protocol to learn our public UDP mapping from a relay's STUN port and to answer such
//! requests on the relay side.
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! 0..2    message type: the first two bits are 0; method and class bits interleaved
//!         (Binding request 0x0001, success response 0x0101, error response 0x0111)
//! 2..4    message length, excluding this header, a multiple of 4
//! 4..8    magic cookie 21 12 A4 42
//! 8..20   transaction id (96 bits)
//! 20..    attributes: type u16, length u16, value padded to 4 bytes
//! ```
//!
//! STUN shares the tunnel's one UDP socket with WireGuard (first four bytes `[1..=4, 0, 0, 0]`)
//! and our probes (first byte `0xC7`); [`is_stun`] tells them apart without ambiguity.
//!
//! What [`decode`] accepts: XOR-MAPPED-ADDRESS and MAPPED-ADDRESS (IPv4 and IPv6) are read;
//! FINGERPRINT is verified when present and must come last; unknown comprehension-optional
//! attributes (`0x8000..`) are skipped; an unknown comprehension-required attribute rejects the
//! message (RFC 8489 §7.3). Credential attributes (USERNAME, MESSAGE-INTEGRITY, ...) are skipped
//! unverified: we use no STUN credentials. That is safe here because the mapping only becomes a
//! *candidate* endpoint: peers accept a direct path only after an authenticated probe.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::Error;

/// Bytes 4..8 of every STUN message (RFC 8489 §5).
pub const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// Length of the fixed header.
pub const HEADER_LEN: usize = 20;
/// Longest message [`decode`] accepts: Binding messages are a few dozen bytes; anything bigger
/// than the IPv6 minimum MTU is not for us.
pub const MAX_MESSAGE: usize = 1280;
/// Length of the Binding request [`encode_binding_request`] writes.
pub const BINDING_REQUEST_LEN: usize = HEADER_LEN + 8;

/// A 96-bit transaction id matching a response to its request.
pub type TransactionId = [u8; 12];

/// The Binding method (the only one we speak).
pub const BINDING: u16 = 0x001;

const ATTR_MAPPED_ADDRESS: u16 = 0x0001;
const ATTR_USERNAME: u16 = 0x0006;
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_ERROR_CODE: u16 = 0x0009;
const ATTR_UNKNOWN_ATTRIBUTES: u16 = 0x000A;
const ATTR_REALM: u16 = 0x0014;
const ATTR_NONCE: u16 = 0x0015;
const ATTR_MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
const ATTR_PASSWORD_ALGORITHM: u16 = 0x001D;
const ATTR_USERHASH: u16 = 0x001E;
const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
const ATTR_FINGERPRINT: u16 = 0x8028;
/// FINGERPRINT is the CRC-32 of the message before it, XORed with "STUN".
const FINGERPRINT_XOR: u32 = 0x5354_554E;

const FAMILY_V4: u8 = 0x01;
const FAMILY_V6: u8 = 0x02;

/// Why a datagram is not a STUN message we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Shorter than the header, or an attribute runs past the end.
    #[error("truncated")]
    Truncated,
    /// Longer than [`MAX_MESSAGE`].
    #[error("oversized")]
    Oversized,
    /// The first two bits are not 0 or the magic cookie is missing.
    #[error("not a STUN message")]
    NotStun,
    /// The header's length is not a multiple of 4 or does not match the datagram.
    #[error("length field does not match the datagram")]
    BadLength,
    /// An address attribute with an unknown family or the wrong length.
    #[error("bad address attribute")]
    BadAddress,
    /// FINGERPRINT does not match the message, or is not the last attribute.
    #[error("bad fingerprint")]
    BadFingerprint,
    /// A comprehension-required attribute we do not understand.
    #[error("unknown comprehension-required attribute {0:#06x}")]
    UnknownRequired(u16),
    /// Valid STUN, but not a Binding request (a server only answers those).
    #[error("not a binding request")]
    NotBindingRequest,
}

impl From<Malformed> for Error {
    fn from(m: Malformed) -> Self {
        Error::Stun(m)
    }
}

/// The class of a STUN message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A request (expects a response).
    Request,
    /// An indication (no response).
    Indication,
    /// A success response.
    Success,
    /// An error response.
    Error,
}

/// What [`decode`] extracts from a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// Request, indication or response.
    pub class: Class,
    /// The method ([`BINDING`] for everything we send).
    pub method: u16,
    /// The transaction id.
    pub transaction: TransactionId,
    /// The reflexive address: XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS (first occurrence).
    pub mapped: Option<SocketAddr>,
    /// A FINGERPRINT was present (and matched).
    pub fingerprint: bool,
}

/// Whether a datagram is a STUN message: at least a header long, the first two bits 0, the
/// magic cookie at bytes 4..8, and not shaped like a WireGuard header (`[1..=4, 0, 0, 0]`, the
/// only overlap: a STUN type `0x0100..=0x0400` with length 0 is no Binding message). Probes
/// start with `0xC7` and never match. [`decode`] does the full check.
pub fn is_stun(datagram: &[u8]) -> bool {
    datagram.len() >= HEADER_LEN
        && datagram[0] & 0xC0 == 0
        && datagram[4..8] == MAGIC_COOKIE
        && !((1..=4).contains(&datagram[0]) && datagram[1..4] == [0, 0, 0])
}

/// The transaction id of a datagram that [`is_stun`], read from the header alone: lets a
/// receiver drop an answer to nothing it asked before [`decode`] checks the attributes and
/// FINGERPRINT. `None` if the datagram is not STUN-shaped.
pub fn peek_transaction(datagram: &[u8]) -> Option<TransactionId> {
    if !is_stun(datagram) {
        return None;
    }
    datagram.get(8..HEADER_LEN)?.try_into().ok()
}

/// Decodes and checks a STUN message. Never panics; every rejection is a typed
/// [`Malformed`] reason inside [`Error::Stun`].
pub fn decode(datagram: &[u8]) -> Result<Message, Error> {
    decode_message(datagram).map_err(Error::Stun)
}

fn decode_message(d: &[u8]) -> Result<Message, Malformed> {
    if d.len() < HEADER_LEN {
        return Err(Malformed::Truncated);
    }
    if d.len() > MAX_MESSAGE {
        return Err(Malformed::Oversized);
    }
    if d[0] & 0xC0 != 0 || d[4..8] != MAGIC_COOKIE {
        return Err(Malformed::NotStun);
    }
    let ty = u16::from_be_bytes([d[0], d[1]]);
    let len = usize::from(u16::from_be_bytes([d[2], d[3]]));
    if len % 4 != 0 || HEADER_LEN + len != d.len() {
        return Err(Malformed::BadLength);
    }
    let mut transaction = [0u8; 12];
    transaction.copy_from_slice(&d[8..20]);
    let class = match ((ty >> 7) & 0b10) | ((ty >> 4) & 0b01) {
        0 => Class::Request,
        1 => Class::Indication,
        2 => Class::Success,
        _ => Class::Error,
    };
    let method = (ty & 0x000F) | ((ty >> 1) & 0x0070) | ((ty >> 2) & 0x0F80);

    let mut xor_mapped = None;
    let mut mapped = None;
    let mut fingerprint = false;
    let mut after_integrity = false;
    let mut at = HEADER_LEN;
    while at < d.len() {
        if fingerprint {
            // FINGERPRINT must be the last attribute.
            return Err(Malformed::BadFingerprint);
        }
        let head = d.get(at..at + 4).ok_or(Malformed::Truncated)?;
        let attr = u16::from_be_bytes([head[0], head[1]]);
        let alen = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let start = at + 4;
        let padded = (alen + 3) & !3;
        let value = d.get(start..start + alen).ok_or(Malformed::Truncated)?;
        if start + padded > d.len() {
            return Err(Malformed::Truncated);
        }
        match attr {
            ATTR_FINGERPRINT => {
                let got: [u8; 4] = value.try_into().map_err(|_| Malformed::BadFingerprint)?;
                if u32::from_be_bytes(got) != crc32(&d[..at]) ^ FINGERPRINT_XOR {
                    return Err(Malformed::BadFingerprint);
                }
                fingerprint = true;
            }
            // RFC 8489 §14.5: everything after MESSAGE-INTEGRITY but FINGERPRINT is ignored.
            _ if after_integrity => {}
            ATTR_XOR_MAPPED_ADDRESS if xor_mapped.is_none() => {
                xor_mapped = Some(read_address(value, Some(&transaction))?);
            }
            ATTR_MAPPED_ADDRESS if mapped.is_none() => {
                mapped = Some(read_address(value, None)?);
            }
            // Later occurrences are ignored (RFC 8489 §14: only the first is processed).
            ATTR_XOR_MAPPED_ADDRESS | ATTR_MAPPED_ADDRESS => {}
            ATTR_MESSAGE_INTEGRITY | ATTR_MESSAGE_INTEGRITY_SHA256 => after_integrity = true,
            ATTR_USERNAME
            | ATTR_ERROR_CODE
            | ATTR_UNKNOWN_ATTRIBUTES
            | ATTR_REALM
            | ATTR_NONCE
            | ATTR_PASSWORD_ALGORITHM
            | ATTR_USERHASH => {}
            a if a < 0x8000 => return Err(Malformed::UnknownRequired(a)),
            _ => {}
        }
        at = start + padded;
    }
    Ok(Message {
        class,
        method,
        transaction,
        mapped: xor_mapped.or(mapped),
        fingerprint,
    })
}

/// Reads a (XOR-)MAPPED-ADDRESS value; `xor` is the transaction id for the XOR variant.
fn read_address(v: &[u8], xor: Option<&TransactionId>) -> Result<SocketAddr, Malformed> {
    let mask = xor_mask(xor);
    let (family, len) = match v.get(1) {
        Some(&FAMILY_V4) => (FAMILY_V4, 8),
        Some(&FAMILY_V6) => (FAMILY_V6, 20),
        _ => return Err(Malformed::BadAddress),
    };
    if v.len() != len {
        return Err(Malformed::BadAddress);
    }
    let port = u16::from_be_bytes([v[2] ^ mask[0], v[3] ^ mask[1]]);
    let mut ip = [0u8; 16];
    for (i, b) in v[4..].iter().enumerate() {
        ip[i] = b ^ mask[i];
    }
    let ip = if family == FAMILY_V4 {
        IpAddr::V4(Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(ip))
    };
    Ok(SocketAddr::new(ip, port))
}

/// The XOR mask of an address attribute: cookie then transaction id (zero for the plain one).
fn xor_mask(xor: Option<&TransactionId>) -> [u8; 16] {
    let mut mask = [0u8; 16];
    if let Some(tx) = xor {
        mask[..4].copy_from_slice(&MAGIC_COOKIE);
        mask[4..].copy_from_slice(tx);
    }
    mask
}

/// Writes a Binding request with a FINGERPRINT into `out` (cleared first).
pub fn encode_binding_request(transaction: &TransactionId, out: &mut Vec<u8>) {
    write_header(out, 0x0001, transaction);
    finish_with_fingerprint(out);
}

/// Writes a Binding success response telling the requester it came from `mapped`
/// (XOR-MAPPED-ADDRESS, then FINGERPRINT) into `out` (cleared first). An IPv4-mapped IPv6
/// source (a dual-stack socket) is reported as IPv4.
pub fn encode_binding_success(transaction: &TransactionId, mapped: SocketAddr, out: &mut Vec<u8>) {
    write_header(out, 0x0101, transaction);
    let ip = mapped.ip().to_canonical();
    let (family, bytes): (u8, Vec<u8>) = match ip {
        IpAddr::V4(v4) => (FAMILY_V4, v4.octets().to_vec()),
        IpAddr::V6(v6) => (FAMILY_V6, v6.octets().to_vec()),
    };
    let mask = xor_mask(Some(transaction));
    out.extend_from_slice(&ATTR_XOR_MAPPED_ADDRESS.to_be_bytes());
    out.extend_from_slice(&(4 + bytes.len() as u16).to_be_bytes());
    out.push(0);
    out.push(family);
    let port = mapped.port().to_be_bytes();
    out.extend_from_slice(&[port[0] ^ mask[0], port[1] ^ mask[1]]);
    out.extend(bytes.iter().zip(mask).map(|(b, m)| b ^ m));
    finish_with_fingerprint(out);
}

/// The answer to a Binding request that came from `src`: a success response naming `src`,
/// written into `out`. Anything else is refused with a typed error (the caller drops it).
pub fn answer_binding(request: &[u8], src: SocketAddr, out: &mut Vec<u8>) -> Result<(), Error> {
    let msg = decode(request)?;
    if msg.class != Class::Request || msg.method != BINDING {
        return Err(Error::Stun(Malformed::NotBindingRequest));
    }
    encode_binding_success(&msg.transaction, src, out);
    Ok(())
}

fn write_header(out: &mut Vec<u8>, ty: u16, transaction: &TransactionId) {
    out.clear();
    out.extend_from_slice(&ty.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&MAGIC_COOKIE);
    out.extend_from_slice(transaction);
}

/// Sets the header length to include an 8-byte FINGERPRINT, then appends it.
fn finish_with_fingerprint(out: &mut Vec<u8>) {
    let len = (out.len() - HEADER_LEN + 8) as u16;
    out[2..4].copy_from_slice(&len.to_be_bytes());
    let crc = crc32(out) ^ FINGERPRINT_XOR;
    out.extend_from_slice(&ATTR_FINGERPRINT.to_be_bytes());
    out.extend_from_slice(&4u16.to_be_bytes());
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (ISO-HDLC: reflected polynomial 0xEDB88320), as FINGERPRINT uses. Bitwise: STUN
/// messages are tiny and rare.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hex as RFC 5769 prints it (spaces and line breaks) to bytes.
    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(u8::is_ascii_hexdigit)
            .map(|c| (c as char).to_digit(16).unwrap() as u8)
            .collect();
        digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }

    const TX: TransactionId = [
        0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
    ];

    /// RFC 5769 §2.2, "Sample IPv4 Response" (SOFTWARE, XOR-MAPPED-ADDRESS,
    /// MESSAGE-INTEGRITY, FINGERPRINT).
    const RFC5769_IPV4_RESPONSE: &str = "
        01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 08 00 01 a1 47 e1 12 a6 43
        00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
        80 28 00 04 c0 7d 4c 96";

    /// RFC 5769 §2.3, "Sample IPv6 Response".
    const RFC5769_IPV6_RESPONSE: &str = "
        01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
        80 28 00 04 c8 fb 0b 4c";

    /// RFC 5769 §2.1, "Sample Request": carries ICE's PRIORITY (0x0024), which is
    /// comprehension-required and unknown to us.
    const RFC5769_REQUEST: &str = "
        00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
        00 24 00 04 6e 00 01 ff
        80 29 00 08 93 2f f9 b1 51 26 3b 36
        00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
        00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
        80 28 00 04 e5 7a 3b cf";

    fn v4() -> SocketAddr {
        "192.0.2.1:32853".parse().unwrap()
    }

    fn v6() -> SocketAddr {
        "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
            .parse()
            .unwrap()
    }

    #[test]
    fn decodes_the_rfc_5769_responses() {
        for (vector, mapped) in [(RFC5769_IPV4_RESPONSE, v4()), (RFC5769_IPV6_RESPONSE, v6())] {
            let bytes = hex(vector);
            assert!(is_stun(&bytes));
            assert_eq!(
                decode(&bytes).unwrap(),
                Message {
                    class: Class::Success,
                    method: BINDING,
                    transaction: TX,
                    mapped: Some(mapped),
                    fingerprint: true,
                }
            );
        }
    }

    #[test]
    fn rfc_5769_request_is_refused_for_its_unknown_required_attribute() {
        let bytes = hex(RFC5769_REQUEST);
        assert!(is_stun(&bytes));
        assert!(matches!(
            decode(&bytes),
            Err(Error::Stun(Malformed::UnknownRequired(0x0024)))
        ));
    }

    #[test]
    fn fingerprint_mismatch_is_detected() {
        let mut bytes = hex(RFC5769_IPV4_RESPONSE);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(matches!(
            decode(&bytes),
            Err(Error::Stun(Malformed::BadFingerprint))
        ));
        // The XOR-MAPPED-ADDRESS changed: the fingerprint no longer covers the message.
        let mut bytes = hex(RFC5769_IPV4_RESPONSE);
        bytes[47] ^= 1;
        assert!(matches!(
            decode(&bytes),
            Err(Error::Stun(Malformed::BadFingerprint))
        ));
    }

    #[test]
    fn encodes_exact_bytes_and_round_trips() {
        let mut out = Vec::new();
        encode_binding_request(&TX, &mut out);
        assert_eq!(out.len(), BINDING_REQUEST_LEN);
        assert_eq!(
            out[..24],
            hex("00 01 00 08 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae 80 28 00 04")[..]
        );
        let req = decode(&out).unwrap();
        assert_eq!(
            req,
            Message {
                class: Class::Request,
                method: BINDING,
                transaction: TX,
                mapped: None,
                fingerprint: true,
            }
        );
        // The XOR-MAPPED-ADDRESS values are the RFC 5769 ones.
        let mut resp = Vec::new();
        answer_binding(&out, v4(), &mut resp).unwrap();
        assert_eq!(
            resp[..32],
            hex("01 01 00 14 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
                 00 20 00 08 00 01 a1 47 e1 12 a6 43")[..]
        );
        assert_eq!(decode(&resp).unwrap().mapped, Some(v4()));
        encode_binding_success(&TX, v6(), &mut resp);
        assert_eq!(
            resp[20..44],
            hex("00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9")[..]
        );
        assert_eq!(decode(&resp).unwrap().mapped, Some(v6()));
        // A dual-stack socket's IPv4-mapped source is reported as IPv4.
        let mapped_v4: SocketAddr = "[::ffff:192.0.2.1]:32853".parse().unwrap();
        encode_binding_success(&TX, mapped_v4, &mut resp);
        assert_eq!(decode(&resp).unwrap().mapped, Some(v4()));
    }

    #[test]
    fn only_binding_requests_are_answered() {
        let mut out = Vec::new();
        let response = hex(RFC5769_IPV4_RESPONSE);
        assert!(matches!(
            answer_binding(&response, v4(), &mut out),
            Err(Error::Stun(Malformed::NotBindingRequest))
        ));
    }

    #[test]
    fn unknown_optional_attributes_are_skipped_and_plain_mapped_address_read() {
        // Header, an unknown optional attribute (3 bytes + 1 padding), MAPPED-ADDRESS.
        let bytes = hex("01 01 00 14 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
                         80 ff 00 03 01 02 03 00
                         00 01 00 08 00 01 80 55 c0 00 02 01");
        assert_eq!(decode(&bytes).unwrap().mapped, Some(v4()));
        // An attribute after FINGERPRINT is refused.
        let mut out = Vec::new();
        encode_binding_request(&TX, &mut out);
        out.extend_from_slice(&hex("80 ff 00 00"));
        let len = (out.len() - HEADER_LEN) as u16;
        out[2..4].copy_from_slice(&len.to_be_bytes());
        assert!(matches!(
            decode(&out),
            Err(Error::Stun(Malformed::BadFingerprint))
        ));
    }

    #[test]
    fn crc32_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn transaction_is_read_from_the_header_of_stun_shaped_datagrams_only() {
        let mut out = Vec::new();
        encode_binding_success(&TX, v4(), &mut out);
        assert_eq!(peek_transaction(&out), Some(TX));
        // The header is enough: attributes and FINGERPRINT are not looked at.
        assert_eq!(peek_transaction(&out[..HEADER_LEN]), Some(TX));
        assert_eq!(peek_transaction(&out[..HEADER_LEN - 1]), None);
        out[4] ^= 1;
        assert_eq!(peek_transaction(&out), None);
    }

    #[test]
    fn never_mistaken_for_wireguard_or_probes() {
        let mut wg = vec![0u8; 148];
        wg[..4].copy_from_slice(&[1, 0, 0, 0]);
        wg[4..8].copy_from_slice(&MAGIC_COOKIE);
        assert!(!is_stun(&wg));
        let mut probe = vec![0u8; 66];
        probe[..4].copy_from_slice(&crate::probe::MAGIC);
        probe[4..8].copy_from_slice(&MAGIC_COOKIE);
        assert!(!is_stun(&probe));
    }
}
