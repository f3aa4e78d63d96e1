//! Starting as a Terraform plugin: the go-plugin handshake, strict mutual TLS, and the
//! debug mode that serves without Terraform.
//!
//! Terraform's client certificate is a self-signed ECDSA P-521 certificate marked as a
//! CA, which tonic's built-in TLS cannot verify. So TLS is terminated here with rustls
//! (aws-lc-rs has P-521), accepting exactly the certificate Terraform passed in
//! `PLUGIN_CLIENT_CERT`, and the decrypted streams are handed to tonic.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio_stream::wrappers::ReceiverStream;

use super::controller_proto::grpc_controller_server::GrpcControllerServer;
use super::proto::provider_server::ProviderServer;
use super::provider::Provider;
use super::server::{Controller, ProviderService};

/// Terraform's go-plugin handshake cookie (the same for OpenTofu).
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const PROTOCOL_VERSION: u32 = 5;

/// Why the plugin could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "This binary is a plugin for Terraform and is not meant to be run directly.\n\
         Use it from a Terraform configuration (see the README), or start it with --debug \
         to attach Terraform to it by hand."
    )]
    NotStartedByTerraform,
    #[error("Terraform offered plugin protocol versions {0:?}; this provider speaks only protocol 5 (Terraform 0.12 or newer).")]
    UnsupportedProtocol(String),
    #[error("{0}")]
    Config(String),
    #[error("cannot listen on 127.0.0.1 in the port range {min}..={max}: {source}")]
    Listen {
        min: u16,
        max: u16,
        source: std::io::Error,
    },
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("gRPC server failed: {0}")]
    Server(#[from] tonic::transport::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What the environment tells a plugin at start, read once.
#[derive(Debug, Clone, Default)]
pub struct HandshakeEnv {
    pub magic_cookie: Option<String>,
    pub protocol_versions: Option<String>,
    pub min_port: Option<String>,
    pub max_port: Option<String>,
    pub client_cert_pem: Option<String>,
    pub disable_tls: bool,
}

impl HandshakeEnv {
    pub fn from_process_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        HandshakeEnv {
            magic_cookie: var(MAGIC_COOKIE_KEY),
            protocol_versions: var("PLUGIN_PROTOCOL_VERSIONS"),
            min_port: var("PLUGIN_MIN_PORT"),
            max_port: var("PLUGIN_MAX_PORT"),
            client_cert_pem: var("PLUGIN_CLIENT_CERT"),
            disable_tls: var("TF_DISABLE_PLUGIN_TLS").is_some(),
        }
    }

    /// Checks the cookie and the offered protocol versions.
    pub fn check(&self) -> Result<(), ServeError> {
        if self.magic_cookie.as_deref() != Some(MAGIC_COOKIE_VALUE) {
            return Err(ServeError::NotStartedByTerraform);
        }
        if let Some(offered) = &self.protocol_versions {
            let ok = offered
                .split(',')
                .any(|v| v.trim().parse::<u32>() == Ok(PROTOCOL_VERSION));
            if !ok {
                return Err(ServeError::UnsupportedProtocol(offered.clone()));
            }
        }
        Ok(())
    }

    fn port_range(&self) -> Result<(u16, u16), ServeError> {
        let parse = |v: &Option<String>, name: &str, default: u16| match v {
            None => Ok(default),
            Some(s) => s
                .parse::<u16>()
                .map_err(|_| ServeError::Config(format!("{name}={s:?} is not a port number"))),
        };
        let min = parse(&self.min_port, "PLUGIN_MIN_PORT", 0)?;
        let max = parse(&self.max_port, "PLUGIN_MAX_PORT", 0)?;
        if min == 0 && max == 0 {
            return Ok((0, 0));
        }
        let max = if max == 0 { u16::MAX } else { max };
        if min > max {
            return Err(ServeError::Config(format!(
                "PLUGIN_MIN_PORT {min} is above PLUGIN_MAX_PORT {max}"
            )));
        }
        Ok((min, max))
    }
}

/// Binds loopback on the first free port of the range (any port when 0..0).
pub async fn bind_in_range(min: u16, max: u16) -> Result<TcpListener, ServeError> {
    let mut last_err = None;
    for port in min..=max {
        match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            Ok(l) => return Ok(l),
            Err(e) => last_err = Some(e),
        }
        if port == u16::MAX {
            break;
        }
    }
    Err(ServeError::Listen {
        min,
        max,
        source: last_err.unwrap_or_else(|| std::io::Error::other("empty port range")),
    })
}

/// The server's own certificate and key, made fresh at every start.
pub struct ServerIdentity {
    pub cert_der: CertificateDer<'static>,
    key_der: PrivatePkcs8KeyDer<'static>,
}

impl ServerIdentity {
    pub fn generate() -> Result<Self, ServeError> {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .map_err(|e| ServeError::Tls(e.to_string()))?;
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "terraform-provider-vcr");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::seconds(30);
        params.not_after = now + time::Duration::days(1);
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| ServeError::Tls(e.to_string()))?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| ServeError::Tls(e.to_string()))?;
        Ok(ServerIdentity {
            cert_der: cert.der().clone(),
            key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }

    /// The certificate as go-plugin's handshake line carries it: base64, no padding.
    pub fn handshake_cert(&self) -> String {
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(self.cert_der.as_ref())
    }
}

/// Accepts exactly one client certificate: the one Terraform passed to this process.
#[derive(Debug)]
pub struct PinnedClientCert {
    expected: CertificateDer<'static>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl PinnedClientCert {
    pub fn new(expected: CertificateDer<'static>) -> Self {
        PinnedClientCert {
            expected,
            algorithms: rustls::crypto::aws_lc_rs::default_provider()
                .signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "client certificate is not the one Terraform passed to this plugin".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Parses the PEM Terraform passes in `PLUGIN_CLIENT_CERT`.
pub fn parse_client_cert(pem: &str) -> Result<CertificateDer<'static>, ServeError> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| ServeError::Tls(format!("PLUGIN_CLIENT_CERT is not a PEM certificate: {e}")))
}

/// A rustls server config for the plugin: HTTP/2 only, the client pinned.
pub fn tls_config(
    identity: &ServerIdentity,
    client_cert: CertificateDer<'static>,
) -> Result<rustls::ServerConfig, ServeError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_client_cert_verifier(Arc::new(PinnedClientCert::new(client_cert)))
        .with_single_cert(
            vec![identity.cert_der.clone()],
            PrivateKeyDer::Pkcs8(identity.key_der.clone_key()),
        )
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// A connection to the plugin, plain or TLS.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Accepts connections, completing TLS when configured; refused handshakes are
/// logged and dropped.
pub fn incoming(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> ReceiverStream<std::io::Result<Conn>> {
    let (tx, rx) = mpsc::channel(16);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            match &acceptor {
                None => {
                    if tx.send(Ok(Conn::Plain(stream))).await.is_err() {
                        return;
                    }
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        match acceptor.accept(stream).await {
                            Ok(tls) => {
                                let _ = tx.send(Ok(Conn::Tls(Box::new(tls)))).await;
                            }
                            Err(e) => {
                                tracing::warn!(%peer, error = %e, "refused a connection that did not present Terraform's certificate")
                            }
                        }
                    });
                }
            }
        }
    });
    ReceiverStream::new(rx)
}

/// How the plugin was asked to run.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The provider's source address, as a configuration's `required_providers` names it.
    pub provider_address: String,
    /// Serve without Terraform and print `TF_REATTACH_PROVIDERS`.
    pub debug: bool,
}

/// Serves `provider` until Terraform shuts it down.
pub async fn serve<P: Provider>(provider: P, options: ServeOptions) -> Result<(), ServeError> {
    let service = ProviderService::new(provider);
    let shutdown = Arc::new(Notify::new());
    let controller = Controller {
        shutdown: shutdown.clone(),
    };

    let (listener, tls, handshake_cert) = if options.debug {
        (bind_in_range(0, 0).await?, None, String::new())
    } else {
        let env = HandshakeEnv::from_process_env();
        env.check()?;
        let (min, max) = env.port_range()?;
        let listener = bind_in_range(min, max).await?;
        if env.disable_tls {
            (listener, None, String::new())
        } else {
            let pem = env.client_cert_pem.as_deref().ok_or_else(|| {
                ServeError::Tls("PLUGIN_CLIENT_CERT is not set; Terraform always sets it unless TF_DISABLE_PLUGIN_TLS is set".into())
            })?;
            let client_cert = parse_client_cert(pem)?;
            let identity = ServerIdentity::generate()?;
            let config = tls_config(&identity, client_cert)?;
            (listener, Some(Arc::new(config)), identity.handshake_cert())
        }
    };
    let addr = listener.local_addr()?;

    let mut stdout = std::io::stdout().lock();
    if options.debug {
        let reattach = reattach_json(&options.provider_address, addr);
        writeln!(
            stdout,
            "Provider started in debug mode. To attach Terraform, run in the shell where you run it:\n\n\
             \texport TF_REATTACH_PROVIDERS='{reattach}'\n\n\
             The provider reads its environment variables from this process, not from Terraform's shell.\n\
             Stop with Ctrl-C."
        )?;
    } else {
        writeln!(
            stdout,
            "1|{PROTOCOL_VERSION}|tcp|{addr}|grpc|{handshake_cert}"
        )?;
    }
    stdout.flush()?;
    drop(stdout);
    tracing::debug!(%addr, tls = tls.is_some(), "plugin server listening");

    let stop = async move {
        tokio::select! {
            _ = shutdown.notified() => {}
            _ = tokio::signal::ctrl_c(), if options.debug => {}
        }
    };
    tonic::transport::Server::builder()
        .add_service(ProviderServer::new(service))
        .add_service(GrpcControllerServer::new(controller))
        .serve_with_incoming_shutdown(incoming(listener, tls), stop)
        .await?;
    Ok(())
}

/// The `TF_REATTACH_PROVIDERS` value that points Terraform at a debug-mode process.
pub fn reattach_json(provider_address: &str, addr: SocketAddr) -> String {
    serde_json::json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": PROTOCOL_VERSION,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": {"Network": "tcp", "String": addr.to_string()},
        }
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `.cargo/config.toml` builds aws-lc without CPU-jitter entropy: seeding from it
    /// cost 30 to 60 ms of CPU at every provider start (see BENCHMARKS.md). Fails when
    /// the setting is lost, e.g. when the build runs without the project's Cargo config.
    #[test]
    fn rng_is_seeded_without_cpu_jitter() {
        ServerIdentity::generate().unwrap();
        // SAFETY: a query without arguments or side effects.
        let jitter = unsafe { aws_lc_sys::FIPS_is_entropy_cpu_jitter() };
        assert_eq!(
            jitter, 0,
            "aws-lc was built with CPU-jitter entropy; build with the project's .cargo/config.toml \
             (AWS_LC_SYS_NO_JITTER_ENTROPY=1)"
        );
    }

    #[test]
    fn refuses_to_start_without_the_cookie() {
        let env = HandshakeEnv::default();
        let err = env.check().unwrap_err();
        assert!(err.to_string().contains("plugin for Terraform"));
        let env = HandshakeEnv {
            magic_cookie: Some("wrong".into()),
            ..Default::default()
        };
        assert!(matches!(
            env.check(),
            Err(ServeError::NotStartedByTerraform)
        ));
    }

    #[test]
    fn requires_protocol_5_among_the_offered() {
        let mut env = HandshakeEnv {
            magic_cookie: Some(MAGIC_COOKIE_VALUE.into()),
            protocol_versions: Some("5,6".into()),
            ..Default::default()
        };
        assert!(env.check().is_ok());
        env.protocol_versions = Some("6".into());
        assert!(matches!(
            env.check(),
            Err(ServeError::UnsupportedProtocol(_))
        ));
    }

    #[test]
    fn port_range_is_respected() {
        let env = HandshakeEnv {
            min_port: Some("10000".into()),
            max_port: Some("10010".into()),
            ..Default::default()
        };
        assert_eq!(env.port_range().unwrap(), (10000, 10010));
        let env = HandshakeEnv {
            min_port: Some("x".into()),
            ..Default::default()
        };
        assert!(env.port_range().is_err());
    }

    #[test]
    fn handshake_cert_has_no_padding() {
        let id = ServerIdentity::generate().unwrap();
        let text = id.handshake_cert();
        assert!(!text.ends_with('='));
        let der = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(text)
            .unwrap();
        assert_eq!(der, id.cert_der.as_ref());
    }
}
