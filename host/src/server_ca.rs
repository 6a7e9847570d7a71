//! Private CA certificates of media servers (issue 17 item 11): a self-hoster's home CA, given
//! per server in PEM form, which the plugin host's HTTP client trusts for that server's own
//! origin, in addition to the public roots (never for a plugin's extra hosts).
//!
//! This module checks and normalises the PEM the admin gives and summarises each certificate
//! (subject, expiry) for display. It does not build HTTP clients (`plugins::host_http` does)
//! and knows nothing of HTTP requests or storage. A CA certificate is public: it is stored in
//! plain text and returned by the API.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::{PemObject, SectionKind};

/// Largest PEM text accepted, in bytes.
pub const MAX_PEM_BYTES: usize = 64 * 1024;
/// Most certificates in one server's CA text.
pub const MAX_CERTIFICATES: usize = 32;

/// The rule for PEM that is not valid PEM.
pub const RULE_NOT_PEM: &str =
    "is not valid PEM: a -----BEGIN CERTIFICATE----- block is cut short or its base64 is damaged";
/// The rule for text without any certificate.
pub const RULE_NO_CERTIFICATE: &str =
    "holds no certificate: paste the CA certificate in PEM form (-----BEGIN CERTIFICATE----- …)";
/// The rule for a certificate block that is not an X.509 certificate a TLS client can trust.
pub const RULE_NOT_X509: &str = "holds a block that is not a valid X.509 CA certificate";
/// The rule for a private key among the certificates.
pub const RULE_PRIVATE_KEY: &str =
    "holds a private key: give only the CA's certificate (its key must stay secret)";
/// The rule for other PEM blocks (requests, revocation lists, public keys).
pub const RULE_OTHER_BLOCK: &str = "holds a PEM block that is not a certificate";
/// The rule for text over [`MAX_PEM_BYTES`].
pub const RULE_TOO_LARGE: &str = "is larger than 64 KiB";
/// The rule for more than [`MAX_CERTIFICATES`] certificates.
pub const RULE_TOO_MANY: &str = "holds more than 32 certificates";

/// The certificates of `pem` (one or more `CERTIFICATE` blocks; text around them is ignored),
/// each checked the way the TLS client will use it: as a trust anchor. `Err` is the rule it
/// breaks, worded for a field error.
pub fn parse(pem: &str) -> Result<Vec<CertificateDer<'static>>, &'static str> {
    if pem.len() > MAX_PEM_BYTES {
        return Err(RULE_TOO_LARGE);
    }
    let mut certificates = Vec::new();
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem.as_bytes()) {
        let (kind, der) = section.map_err(|_| RULE_NOT_PEM)?;
        match kind {
            SectionKind::Certificate => {
                let der = CertificateDer::from(der);
                webpki::anchor_from_trusted_cert(&der).map_err(|_| RULE_NOT_X509)?;
                certificates.push(der);
            }
            SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey => {
                return Err(RULE_PRIVATE_KEY);
            }
            _ => return Err(RULE_OTHER_BLOCK),
        }
        if certificates.len() > MAX_CERTIFICATES {
            return Err(RULE_TOO_MANY);
        }
    }
    if certificates.is_empty() {
        return Err(RULE_NO_CERTIFICATE);
    }
    Ok(certificates)
}

/// `pem` as stored: `\n` line endings (a browser's text area sends `\r\n`), no blank lines at
/// either end, one final newline.
pub fn normalise(pem: &str) -> String {
    let mut out = pem.replace("\r\n", "\n").trim().to_owned();
    out.push('\n');
    out
}

/// Whether `new` trusts a certificate `old` did not (a CA added or replaced). Removing
/// certificates narrows trust and is not a widening.
pub fn widens(old: Option<&str>, new: Option<&str>) -> bool {
    let ders = |pem: Option<&str>| pem.and_then(|p| parse(p).ok()).unwrap_or_default();
    let before = ders(old);
    ders(new).iter().any(|c| !before.contains(c))
}

/// What a certificate says about itself, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Its subject's common name (or organisation), `?` when it has neither.
    pub subject: String,
    /// Its expiry date, `YYYY-MM-DD` (UTC).
    pub not_after: Option<String>,
}

/// The summary of each certificate of a stored (valid) CA text.
pub fn summaries(pem: &str) -> Vec<Summary> {
    parse(pem)
        .unwrap_or_default()
        .iter()
        .map(|der| summarise(der))
        .collect()
}

/// Subject and expiry of one DER certificate, read with a minimal DER walk (the certificate was
/// already checked by [`parse`]; anything unexpected just gives a `?`).
pub fn summarise(der: &[u8]) -> Summary {
    let read = || -> Option<(Option<String>, Option<String>)> {
        let (_, certificate, _) = tlv(der)?;
        let (_, tbs, _) = tlv(certificate)?;
        let mut rest = tbs;
        let (tag, _, after_version) = tlv(rest)?;
        if tag == 0xa0 {
            rest = after_version;
        }
        let (_, _, rest) = tlv(rest)?; // serial number
        let (_, _, rest) = tlv(rest)?; // signature algorithm
        let (_, _, rest) = tlv(rest)?; // issuer
        let (_, validity, rest) = tlv(rest)?;
        let (_, subject, _) = tlv(rest)?;
        let (_, _, validity) = tlv(validity)?; // not before
        let (tag, not_after, _) = tlv(validity)?;
        Some((name(subject), date(tag, not_after)))
    };
    let (subject, not_after) = read().unwrap_or_default();
    Summary {
        subject: subject.unwrap_or_else(|| "?".to_owned()),
        not_after,
    }
}

/// One DER tag-length-value: tag, content, what follows.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The common name of an X.501 name, else its organisation.
fn name(mut rdns: &[u8]) -> Option<String> {
    const CN: &[u8] = &[0x55, 0x04, 0x03];
    const O: &[u8] = &[0x55, 0x04, 0x0a];
    let (mut cn, mut org) = (None, None);
    while let Some((_, set, rest)) = tlv(rdns) {
        rdns = rest;
        let mut attributes = set;
        while let Some((_, attribute, rest)) = tlv(attributes) {
            attributes = rest;
            let Some((0x06, oid, value)) = tlv(attribute) else {
                continue;
            };
            let Some((tag, value, _)) = tlv(value) else {
                continue;
            };
            let text = match tag {
                // BMPString: UTF-16BE.
                0x1e => String::from_utf16_lossy(
                    &value
                        .chunks_exact(2)
                        .map(|p| u16::from_be_bytes([p[0], p[1]]))
                        .collect::<Vec<_>>(),
                ),
                _ => String::from_utf8_lossy(value).into_owned(),
            };
            // Shown on a page and in the API: no control characters, a sane length.
            let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
            if oid == CN {
                cn.get_or_insert(text);
            } else if oid == O {
                org.get_or_insert(text);
            }
        }
    }
    cn.or(org).filter(|s| !s.trim().is_empty())
}

/// `YYYY-MM-DD` of a UTCTime (tag 0x17, `YYMMDD…`) or GeneralizedTime (0x18, `YYYYMMDD…`).
fn date(tag: u8, value: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(value).ok()?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit()).then_some(());
    let (year, rest) = match tag {
        0x17 => {
            let yy: u32 = text.get(..2)?.parse().ok()?;
            // RFC 5280: 50–99 are 1950–1999.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        0x18 => (text.get(..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    let (month, day) = (rest.get(..2)?, rest.get(2..4)?);
    digits(month)?;
    digits(day)?;
    Some(format!("{year:04}-{month}-{day}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zondarr_fakes::tls::TestCa;

    #[test]
    fn a_ca_bundle_parses_and_is_summarised() {
        let one = TestCa::new("Home CA");
        let two = TestCa::new("Second CA");
        let bundle = format!("Home CA\r\n{}\r\n\r\n{}", one.pem(), two.pem());
        let certificates = parse(&bundle).unwrap();
        assert_eq!(certificates.len(), 2);
        let summaries = summaries(&normalise(&bundle));
        assert_eq!(summaries[0].subject, "Home CA");
        assert_eq!(summaries[1].subject, "Second CA");
        let expiry = summaries[0].not_after.clone().unwrap();
        assert_eq!(expiry.len(), 10, "{expiry}");
        assert!(expiry.starts_with("20"), "{expiry}");
        assert!(normalise(&bundle).ends_with("-----\n"));
        assert!(!normalise(&bundle).contains('\r'));
    }

    #[test]
    fn bad_ca_text_is_refused_with_its_reason() {
        let ca = TestCa::new("Home CA");
        assert_eq!(parse("hello"), Err(RULE_NO_CERTIFICATE));
        assert_eq!(parse(""), Err(RULE_NO_CERTIFICATE));
        let cut = ca.pem().replace("-----END CERTIFICATE-----", "");
        assert_eq!(parse(&cut), Err(RULE_NOT_PEM));
        let garbage =
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
        assert_eq!(parse(garbage), Err(RULE_NOT_X509));
        let with_key = format!("{}{}", ca.pem(), ca.key_pem());
        assert_eq!(parse(&with_key), Err(RULE_PRIVATE_KEY));
        assert_eq!(parse(&"a".repeat(MAX_PEM_BYTES + 1)), Err(RULE_TOO_LARGE));
    }

    #[test]
    fn only_a_new_certificate_widens_trust() {
        let one = TestCa::new("One");
        let two = TestCa::new("Two");
        let both = format!("{}{}", one.pem(), two.pem());
        assert!(widens(None, Some(one.pem())));
        assert!(widens(Some(one.pem()), Some(two.pem())));
        assert!(widens(Some(one.pem()), Some(&both)));
        assert!(!widens(Some(&both), Some(one.pem())), "narrowed");
        assert!(!widens(Some(one.pem()), None), "removed");
        let rewrapped = one.pem().replace('\n', "\r\n");
        assert!(
            !widens(Some(one.pem()), Some(&rewrapped)),
            "same certificate"
        );
    }
}
