//! TLS for the fakes: a private CA made at test time (rcgen), and a TLS front that serves any
//! fake over `https://127.0.0.1:PORT` with a certificate that CA signed, as a home server behind
//! a self-hosted CA would be (issue 17 item 11). The front terminates TLS and passes the bytes on
//! to the fake's plain-HTTP port, so every fake can be reached over TLS unchanged.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    pem: String,
    key_pem: String,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// The date every test certificate expires on.
pub const NOT_AFTER: (i32, u8, u8) = (2035, 1, 1);

impl TestCa {
    /// A new CA whose certificate's common name is `name`, valid until [`NOT_AFTER`].
    ///
    /// # Panics
    /// When rcgen cannot make a key or sign (never with valid input).
    #[allow(clippy::expect_used)]
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_after = rcgen::date_time_ymd(NOT_AFTER.0, NOT_AFTER.1, NOT_AFTER.2);
        let key = KeyPair::generate().expect("CA key");
        let key_pem = key.serialize_pem();
        let issuer = CertifiedIssuer::self_signed(params, key).expect("self-signed CA");
        let pem = issuer.pem();
        TestCa {
            issuer,
            pem,
            key_pem,
        }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The CA's private key, PEM (for tests that check it is refused).
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// A rustls server configuration with a certificate for `127.0.0.1` and `localhost` that
    /// this CA signed.
    ///
    /// # Panics
    /// When rcgen or rustls refuse what they were given (never with valid input).
    #[allow(clippy::expect_used)]
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("server parameters");
        params
            .distinguished_name
            .push(DnType::CommonName, "fake media server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_after = rcgen::date_time_ymd(NOT_AFTER.0, NOT_AFTER.1, NOT_AFTER.2);
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        let chain = vec![
            cert.der().clone(),
            CertificateDer::from(self.issuer.der().to_vec()),
        ];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
        Arc::new(config)
    }
}

/// A TLS front for a fake: `https://127.0.0.1:PORT`, passing each connection's bytes on to the
/// fake's plain-HTTP origin. Connections whose handshake fails (a client that does not trust the
/// CA) never reach the fake. It stops when dropped.
pub struct TlsFront {
    url: String,
    handshakes: Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TlsFront {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFront")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsFront {
    /// Serve `backend` (`http://127.0.0.1:PORT` of a fake) over TLS with a certificate `ca`
    /// signed.
    ///
    /// # Panics
    /// When no loopback port can be bound or `backend` is not `http://host:port`.
    #[allow(clippy::expect_used)]
    pub async fn start(ca: &TestCa, backend: &str) -> TlsFront {
        let backend = backend
            .strip_prefix("http://")
            .expect("the fake's URL is http://host:port")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the TLS front");
        let port = listener
            .local_addr()
            .expect("the TLS front's address")
            .port();
        let acceptor = tokio_rustls::TlsAcceptor::from(ca.server_config());
        let handshakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = handshakes.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, backend, counted) =
                    (acceptor.clone(), backend.clone(), counted.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Ok(mut plain) = tokio::net::TcpStream::connect(&backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsFront {
            url: format!("https://127.0.0.1:{port}"),
            handshakes,
            task,
        }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// TLS handshakes that succeeded so far (connections that reached the fake).
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(std::sync::atomic::Ordering::SeqCst)
    }
}
