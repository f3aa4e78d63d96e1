//! A small registry client for `make demo` when neither docker nor skopeo is
//! on the PATH: builds a tiny image without a daemon, pushes it, pulls it.
//! Built on `oci-client`. Credentials come from `REGISTRY_USER` and
//! `REGISTRY_PASSWORD` (never the command line, which others can read).
//!
//! ```text
//! cargo run --example registry-client -- build DIR TAG TEXT
//! cargo run --example registry-client -- push DIR TAG HOST:PORT/REPOSITORY/IMAGE:TAG
//! cargo run --example registry-client -- pull HOST:PORT/REPOSITORY/IMAGE:TAG
//! ```

mod layout;

use std::path::Path;
use std::process::ExitCode;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

fn auth() -> RegistryAuth {
    match (
        std::env::var("REGISTRY_USER"),
        std::env::var("REGISTRY_PASSWORD"),
    ) {
        (Ok(u), Ok(p)) if !u.is_empty() => RegistryAuth::Basic(u, p),
        _ => RegistryAuth::Anonymous,
    }
}

/// Plain HTTP for loopback registries (as docker and skopeo treat them).
fn client() -> Client {
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    })
}

/// A client error as docker would word it: `denied: requested access ...`.
fn describe(e: oci_client::errors::OciDistributionError) -> String {
    use oci_client::errors::OciDistributionError as E;
    let body = match &e {
        E::ServerError { message, .. } => message.clone(),
        E::AuthenticationFailure(message) => message.clone(),
        _ => return e.to_string(),
    };
    let first = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["errors"].get(0).cloned());
    match first {
        Some(err) => format!(
            "{}: {}",
            err["code"].as_str().unwrap_or("error").to_lowercase(),
            err["message"].as_str().unwrap_or_default()
        ),
        None => e.to_string(),
    }
}

async fn push(dir: &Path, tag: &str, target: &str) -> Result<String, String> {
    let image = layout::read_layout(dir, tag).map_err(|e| e.to_string())?;
    let reference: Reference = target.parse().map_err(|e| format!("{target}: {e}"))?;
    let layers = [ImageLayer::new(
        image.layer,
        layout::LAYER_TYPE.to_string(),
        None,
    )];
    let config = Config::new(image.config, layout::CONFIG_TYPE.to_string(), None);
    let pushed = client()
        .push(&reference, &layers, config, &auth(), None)
        .await
        .map_err(describe)?;
    Ok(pushed.manifest_url)
}

async fn pull(source: &str) -> Result<(String, String), String> {
    let reference: Reference = source.parse().map_err(|e| format!("{source}: {e}"))?;
    let image = client()
        .pull(&reference, &auth(), vec![layout::LAYER_TYPE])
        .await
        .map_err(describe)?;
    let text = layout::file_in_tar(&image.layers[0].data, "hello.txt")
        .ok_or("no hello.txt in the image")?;
    Ok((
        image.digest.unwrap_or_default(),
        String::from_utf8_lossy(&text).into_owned(),
    ))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["build", dir, tag, text] => {
            layout::write_layout(Path::new(dir), tag, &layout::build(text))
                .map(|()| format!("built {dir}:{tag}"))
                .map_err(|e| e.to_string())
        }
        ["push", dir, tag, target] => push(Path::new(dir), tag, target)
            .await
            .map(|url| format!("pushed {url}")),
        ["pull", source] => pull(source).await.map(|(digest, text)| {
            // A reference by digest already says which.
            let pulled = match source.contains('@') {
                true => source.to_string(),
                false => format!("{source}@{digest}"),
            };
            format!("pulled {pulled}: hello.txt says {:?}", text.trim())
        }),
        _ => Err("usage: registry-client build DIR TAG TEXT | push DIR TAG REF | pull REF".into()),
    };
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("registry-client: {e}");
            ExitCode::FAILURE
        }
    }
}
