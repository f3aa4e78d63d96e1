//! The client verifies the TLS certificate of the API it talks to: a server with a
//! certificate no authority vouches for is refused before any credential is sent.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncReadExt;
use vcr_provider::vcr::{Client, ClientConfig, Secret, VcrError};

#[tokio::test]
async fn a_self_signed_api_certificate_is_refused() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Counts requests that got through TLS: there must be none.
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 1024];
                    if tls.read(&mut buf).await.unwrap_or(0) > 0 {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });

    let client = Client::new(ClientConfig {
        client_id: "id".into(),
        client_secret: Secret::new("never-sent-secret"),
        token_url: Some(format!("https://localhost:{}/token", addr.port())),
        endpoint_hcm: Some(format!("https://localhost:{}/hcm", addr.port())),
        max_retries: 0,
        ..ClientConfig::default()
    })
    .unwrap();
    let err = client.account_id().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, VcrError::Transport { .. }), "{err:?}");
    assert_eq!(
        err.transport_kind(),
        Some(vcr_provider::vcr::TransportKind::Tls),
        "{err:?}"
    );
    assert!(
        text.contains(&format!(
            "the TLS handshake with localhost:{} failed",
            addr.port()
        )),
        "{text}"
    );
    assert!(
        text.to_lowercase().contains("certificate"),
        "the error says why: {text}"
    );
    assert!(!text.contains("never-sent-secret"));
    assert_eq!(
        served.load(Ordering::SeqCst),
        0,
        "no request went over the untrusted connection"
    );
}
