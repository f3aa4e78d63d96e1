//! The provider binary as Terraform starts it: the handshake, strict mutual TLS with
//! the certificate Terraform passes, gRPC calls over it, and a clean shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tonic::transport::{Channel, Endpoint};
use vcr_provider::tfplugin::controller_proto::grpc_controller_client::GrpcControllerClient;
use vcr_provider::tfplugin::controller_proto::Empty;
use vcr_provider::tfplugin::proto::provider_client::ProviderClient;
use vcr_provider::tfplugin::proto::{self, get_provider_schema};
use vcr_provider::tfplugin::serve::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};

/// A client identity like Terraform's: self-signed ECDSA P-521, marked as a CA.
struct ClientIdentity {
    pem: String,
    der: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

fn terraform_like_identity() -> ClientIdentity {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "HashiCorp");
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
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let cert = params.self_signed(&key).unwrap();
    ClientIdentity {
        pem: cert.pem(),
        der: cert.der().clone(),
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    }
}

/// Trusts exactly the server certificate from the handshake line, as go-plugin does.
#[derive(Debug)]
struct PinnedServer(Vec<u8>);

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "unexpected server certificate".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(m, c, d, &algs)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(m, c, d, &algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

struct Plugin {
    child: Child,
    addr: String,
    server_cert: Vec<u8>,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_plugin(client_pem: &str) -> Plugin {
    let mut child = Command::new(env!("CARGO_BIN_EXE_terraform-provider-vcr"))
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_CLIENT_CERT", client_pem)
        .env_remove("TF_DISABLE_PLUGIN_TLS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let parts: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(parts.len(), 6, "handshake line: {line:?}");
    assert_eq!(&parts[..3], &["1", "5", "tcp"]);
    assert_eq!(parts[4], "grpc");
    assert!(
        !parts[5].ends_with('='),
        "certificate must be unpadded base64"
    );
    let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(parts[5])
        .unwrap();
    Plugin {
        child,
        addr: parts[3].to_string(),
        server_cert,
    }
}

async fn connect(
    plugin: &Plugin,
    identity: &ClientIdentity,
) -> Result<Channel, tonic::transport::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer(plugin.server_cert.clone())))
        .with_client_auth_cert(
            vec![identity.der.clone()],
            PrivateKeyDer::Pkcs8(identity.key.clone_key()),
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let addr = plugin.addr.clone();
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_| {
            let connector = connector.clone();
            let addr = addr.clone();
            async move {
                let tcp = tokio::net::TcpStream::connect(&addr).await?;
                let tls = connector
                    .connect(ServerName::try_from("localhost").unwrap(), tcp)
                    .await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        }))
        .await
}

#[tokio::test]
async fn terraform_certificate_is_served_and_shutdown_exits() {
    let identity = terraform_like_identity();
    let mut plugin = start_plugin(&identity.pem);
    let channel = connect(&plugin, &identity)
        .await
        .expect("TLS with the pinned certificate");

    let schema = ProviderClient::new(channel.clone())
        .get_schema(get_provider_schema::Request {})
        .await
        .expect("GetSchema over mutual TLS")
        .into_inner();
    // The provider serves on one thread (src/main.rs says why; BENCHMARKS.md measured it).
    let threads = std::fs::read_dir(format!("/proc/{}/task", plugin.child.id()))
        .expect("the provider's threads")
        .count();
    assert_eq!(threads, 1, "the provider runs {threads} threads");
    let provider = schema.provider.unwrap().block.unwrap();
    let names: Vec<&str> = provider
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    for expected in [
        "region",
        "client_id",
        "client_secret",
        "token_url",
        "max_retries",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(provider
        .attributes
        .iter()
        .all(|a| !a.description.is_empty()));
    assert!(schema.server_capabilities.unwrap().plan_destroy);

    // Protocol 5.10 in full: identity schemas are answered (both resources have one),
    // and what no part serves answers Unimplemented, which Terraform accepts.
    let identities = ProviderClient::new(channel.clone())
        .get_resource_identity_schemas(proto::get_resource_identity_schemas::Request {})
        .await
        .expect("GetResourceIdentitySchemas")
        .into_inner();
    let mut with_identity: Vec<&String> = identities.identity_schemas.keys().collect();
    with_identity.sort();
    assert_eq!(with_identity, ["vcr_repository", "vcr_repository_user"]);
    let functions = ProviderClient::new(channel.clone())
        .get_functions(proto::get_functions::Request {})
        .await
        .expect("GetFunctions")
        .into_inner();
    let mut names: Vec<&String> = functions.functions.keys().collect();
    names.sort();
    assert_eq!(names, ["image_reference", "parse_image_reference"]);
    let moved = ProviderClient::new(channel.clone())
        .move_resource_state(proto::move_resource_state::Request::default())
        .await
        .unwrap_err();
    assert_eq!(moved.code(), tonic::Code::Unimplemented);

    // A wrong region is refused, naming the attribute.
    let config = {
        use vcr_provider::tfplugin::{codec, Value};
        let ty = vcr_provider::provider::config::schema().value_type();
        let v = Value::from_json(&serde_json::json!({"region": "SGN"}))
            .conform(&ty)
            .unwrap();
        codec::encode(&v)
    };
    let answer = ProviderClient::new(channel.clone())
        .prepare_provider_config(proto::prepare_provider_config::Request {
            config: Some(config),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.diagnostics.len(), 1);
    assert!(answer.diagnostics[0].summary.contains("\"region\""));

    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = plugin.child.try_wait().unwrap() {
            assert!(status.success(), "plugin exited with {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "plugin did not exit after Shutdown"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_client_without_terraform_certificate_is_refused() {
    let terraform = terraform_like_identity();
    let intruder = terraform_like_identity();
    let plugin = start_plugin(&terraform.pem);
    let refused = match connect(&plugin, &intruder).await {
        Err(_) => true,
        // TLS 1.3 may finish the client side before the server's refusal arrives:
        // then the first call fails.
        Ok(channel) => ProviderClient::new(channel)
            .get_schema(get_provider_schema::Request {})
            .await
            .is_err(),
    };
    assert!(refused, "a client with another certificate was served");
}

#[test]
fn refuses_to_run_outside_terraform() {
    let out = Command::new(env!("CARGO_BIN_EXE_terraform-provider-vcr"))
        .env_remove(MAGIC_COOKIE_KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout without a handshake"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plugin for Terraform"), "{err}");
}

#[test]
fn refuses_a_terraform_without_protocol_5() {
    let out = Command::new(env!("CARGO_BIN_EXE_terraform-provider-vcr"))
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("protocol 5"));
}

#[tokio::test]
async fn debug_mode_prints_reattach_settings() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_terraform-provider-vcr"))
        .arg("--debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    while !text.contains("TF_REATTACH_PROVIDERS=") {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "no reattach line in {text:?}"
        );
        text.push_str(&line);
    }
    let json = text
        .split("TF_REATTACH_PROVIDERS='")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    let reattach: serde_json::Value = serde_json::from_str(json).unwrap();
    let entry = &reattach["registry.terraform.io/vngcloud/vcr"];
    assert_eq!(entry["ProtocolVersion"], 5);
    let addr = entry["Addr"]["String"].as_str().unwrap().to_string();
    // Plaintext in debug mode: a plain gRPC client is served.
    let mut client = ProviderClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let schema = client
        .get_schema(get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.provider.is_some());
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn in_process_get_schema() {
    use vcr_provider::provider::VcrProvider;
    use vcr_provider::tfplugin::proto::provider_server::ProviderServer;
    use vcr_provider::tfplugin::serve::{bind_in_range, incoming};
    use vcr_provider::tfplugin::server::ProviderService;

    let listener = bind_in_range(0, 0).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ProviderServer::new(ProviderService::new(VcrProvider)))
            .serve_with_incoming(incoming(listener, None)),
    );
    let mut client = ProviderClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let schema = client
        .get_schema(get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let block = schema.provider.unwrap().block.unwrap();
    let endpoints = block
        .block_types
        .iter()
        .find(|b| b.type_name == "endpoints")
        .unwrap();
    assert_eq!(
        endpoints.nesting,
        proto::schema::nested_block::NestingMode::Single as i32
    );
    let hcm = endpoints
        .block
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|a| a.name == "hcm")
        .unwrap();
    assert!(hcm.optional && hcm.description.contains("VCR_ENDPOINT_HCM"));
    let secret = block
        .attributes
        .iter()
        .find(|a| a.name == "client_secret")
        .unwrap();
    assert!(secret.sensitive);
    server.abort();
}

#[tokio::test]
async fn upgrade_resource_state_turns_stored_json_into_the_current_schema() {
    use vcr_provider::provider::VcrProvider;
    use vcr_provider::tfplugin::proto::provider_server::Provider as _;
    use vcr_provider::tfplugin::server::ProviderService;
    use vcr_provider::tfplugin::{codec, Value};

    let service = ProviderService::new(VcrProvider);
    // A state as an older schema stored it: one attribute since removed, and the
    // newer ones missing; the quota stored as a string.
    let raw = serde_json::json!({
        "id": "repo-1", "name": "old-app", "quota_limit_gb": "3", "access_level": "private",
        "region": "HAN", "legacy_flag": true
    });
    let answer = service
        .upgrade_resource_state(tonic::Request::new(
            proto::upgrade_resource_state::Request {
                type_name: "vcr_repository".into(),
                version: 0,
                raw_state: Some(proto::RawState {
                    json: raw.to_string().into_bytes(),
                    flatmap: Default::default(),
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
    let ty = vcr_provider::provider::repository::schema().value_type();
    let state = codec::decode(answer.upgraded_state.as_ref(), &ty).unwrap();
    assert_eq!(state.attr("name"), &Value::from("old-app"));
    assert_eq!(state.attr("quota_limit_gb"), &Value::int(3));
    assert_eq!(state.attr("registry_url"), &Value::Null);
    assert!(state.as_fields().unwrap().get("legacy_flag").is_none());

    let answer = service
        .upgrade_resource_state(tonic::Request::new(
            proto::upgrade_resource_state::Request {
                type_name: "vcr_repository".into(),
                version: 0,
                raw_state: Some(proto::RawState {
                    json: b"{not json".to_vec(),
                    flatmap: Default::default(),
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.diagnostics.len(),
        1,
        "a broken state is a diagnostic, not a crash"
    );
}

#[tokio::test]
async fn registry_url_follows_the_configured_registry() {
    use vcr_provider::provider::{repository, VcrProvider};
    use vcr_provider::tfplugin::proto::provider_server::Provider as _;
    use vcr_provider::tfplugin::server::ProviderService;
    use vcr_provider::tfplugin::{codec, Value};

    let local = vcr_provider::local::start(vcr_provider::local::LocalConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .await
    .unwrap();
    let settings: std::collections::HashMap<_, _> = local.settings().into_iter().collect();
    let provider_ty = vcr_provider::provider::config::schema().value_type();
    let config = Value::from_json(&serde_json::json!({
        "client_id": settings["VCR_CLIENT_ID"],
        "client_secret": settings["VCR_CLIENT_SECRET"],
        "token_url": local.token_url(),
        "endpoints": {
            "hcm": local.endpoint_hcm(),
            "han": local.endpoint_han(),
            "registry_hcm": "127.0.0.1:5000",
        },
        "max_retries": 0,
    }))
    .conform(&provider_ty)
    .unwrap();
    let service = ProviderService::new(VcrProvider);
    let configured = service
        .configure(tonic::Request::new(proto::configure::Request {
            config: Some(codec::encode(&config)),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        configured.diagnostics.is_empty(),
        "{:?}",
        configured.diagnostics
    );

    let ty = repository::schema().value_type();
    let planned = Value::from_json(&serde_json::json!({
        "name": "local-app", "quota_limit_gb": 1, "access_level": "private",
        "region": "HCM", "force_destroy": false
    }))
    .conform(&ty)
    .unwrap();
    let applied = service
        .apply_resource_change(tonic::Request::new(proto::apply_resource_change::Request {
            type_name: "vcr_repository".into(),
            planned_state: Some(codec::encode(&planned)),
            config: Some(codec::encode(&planned)),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let state = codec::decode(applied.new_state.as_ref(), &ty).unwrap();
    assert_eq!(
        state.attr("registry_url"),
        &Value::from("127.0.0.1:5000/100001-local-app"),
        "the configured registry host, not vCR's"
    );
    // An override that disagrees with what vCR reports is said, naming both values.
    let warnings: Vec<_> = applied.diagnostics.iter().map(|d| &d.detail).collect();
    assert_eq!(warnings.len(), 1, "{:?}", applied.diagnostics);
    assert!(
        warnings[0].contains("\"127.0.0.1:5000\"")
            && warnings[0].contains(&format!(
                "\"{}/100001-local-app\"",
                settings["VCR_REGISTRY_HCM"]
            )),
        "{}",
        warnings[0]
    );
    local.shutdown().await;
}
