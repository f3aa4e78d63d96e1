//! Images in a repository, for the tests that need a repository which is not empty.
//!
//! The only place that knows how an image gets into vcr-local: a real push through
//! the region's Docker registry (as a throw-away push user made through the API),
//! with a layer of the given size streamed, never held in memory.

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use vcr_provider::vcr::Region;

use super::local::LocalVcr;

#[path = "../registry_support/mod.rs"]
pub mod registry_support;

use registry_support::{push_blob, registry_token};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// An image to put into a repository.
pub struct Image<'a> {
    pub name: &'a str,
    /// `None`: `latest`.
    pub tag: Option<&'a str>,
    /// Its layer's size in KiB, which counts against the repository's quota.
    pub size_kib: u64,
}

/// How to reach a region's API and registry.
pub fn region(local: &LocalVcr, region: Region) -> registry_support::Region {
    let code = region.as_str();
    registry_support::Region {
        token_url: local.settings["VCR_TOKEN_URL"].clone(),
        client_id: local.settings["VCR_CLIENT_ID"].clone(),
        client_secret: local.settings["VCR_CLIENT_SECRET"].clone(),
        endpoint: local.settings[&format!("VCR_ENDPOINT_{code}")].clone(),
        registry: local.settings[&format!("VCR_REGISTRY_{code}")].clone(),
    }
}

/// Pushes an image into the repository with this id; panics if vcr-local refuses.
pub fn push_image(local: &LocalVcr, region_code: Region, repository_id: &str, image: &Image) {
    let r = region(local, region_code);
    local.block_on(r.push_image_tagged(
        repository_id,
        image.name,
        image.tag.unwrap_or("latest"),
        image.size_kib,
    ));
}

/// Pushes a one-layer image with `text` as its layer to `reference`
/// (`<registry>/<repository backend name>/<image>:<tag>`) through a real OCI client
/// (oci-client, plain HTTP as vcr-local serves), logged in as `user`; answers the
/// manifest's digest as the registry reports it.
pub fn push_layer(local: &LocalVcr, reference: &str, user: (&str, &str), text: &str) -> String {
    use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
    use oci_client::secrets::RegistryAuth;
    use oci_client::{Client, Reference};

    let to: Reference = reference
        .parse()
        .unwrap_or_else(|e| panic!("{reference}: {e}"));
    let auth = RegistryAuth::Basic(user.0.to_string(), user.1.to_string());
    let layer = ImageLayer::oci_v1(text.as_bytes().to_vec(), None);
    let config = Config::oci_v1(br#"{"architecture":"amd64","os":"linux"}"#.to_vec(), None);
    local.block_on(async {
        let c = Client::new(ClientConfig {
            protocol: ClientProtocol::Http,
            ..ClientConfig::default()
        });
        c.push(&to, &[layer], config, &auth, None)
            .await
            .unwrap_or_else(|e| panic!("push {to}: {e}"));
        c.fetch_manifest_digest(&to, &auth)
            .await
            .unwrap_or_else(|e| panic!("digest of {to}: {e}"))
    })
}

/// Pushes to and pulls from one repository as one user, over raw HTTP: small images,
/// multi-platform indexes, untagged manifests, each with the content it is given.
pub struct Pusher {
    pub host: String,
    /// The repository's backend name.
    pub repo: String,
    pub login: String,
    pub secret: String,
}

impl Pusher {
    pub fn name(&self, image: &str) -> String {
        format!("{}/{image}", self.repo)
    }

    pub async fn token(&self, image: &str) -> String {
        registry_token(
            &self.host,
            &self.login,
            &self.secret,
            &self.name(image),
            "pull,push",
        )
        .await
        .unwrap_or_else(|e| panic!("token: {e:?}"))
    }

    /// Puts a manifest under `reference` (a tag or its digest); answers its digest.
    pub async fn put_manifest(
        &self,
        image: &str,
        reference: &str,
        media_type: &str,
        body: &Value,
    ) -> String {
        let bytes = serde_json::to_vec(body).unwrap();
        let resp = registry_support::http_client()
            .put(format!(
                "http://{}/v2/{}/manifests/{reference}",
                self.host,
                self.name(image)
            ))
            .bearer_auth(self.token(image).await)
            .header("content-type", media_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            201,
            "{}",
            resp.text().await.unwrap()
        );
        resp.headers()["docker-content-digest"]
            .to_str()
            .unwrap()
            .to_string()
    }

    /// Pushes a layer of `text` and a config, and answers the image manifest naming
    /// them (distinct text, distinct digest).
    pub async fn image_manifest(&self, image: &str, text: &str, config: &[u8]) -> Value {
        let token = self.token(image).await;
        let name = self.name(image);
        let layer = push_blob(&self.host, &token, &name, text.as_bytes())
            .await
            .unwrap();
        let config_digest = push_blob(&self.host, &token, &name, config).await.unwrap();
        json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": text.len()}],
        })
    }

    /// An image manifest with one small layer of `text`, pushed under `reference`.
    pub async fn push_image(&self, image: &str, reference: &str, text: &str) -> String {
        let config = br#"{"architecture":"amd64","os":"linux"}"#;
        let manifest = self.image_manifest(image, text, config).await;
        self.put_manifest(image, reference, OCI_MANIFEST, &manifest)
            .await
    }

    /// A two-platform index tagged `tag`; answers (index digest, platform digests).
    pub async fn push_index(&self, image: &str, tag: &str, text: &str) -> (String, Vec<String>) {
        let mut children = Vec::new();
        for arch in ["amd64", "arm64"] {
            children.push(self.push_child(image, &format!("{text} for {arch}")).await);
        }
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": children.iter().zip(["amd64", "arm64"]).map(|((d, size), arch)| json!({
                "mediaType": OCI_MANIFEST,
                "digest": d, "size": size,
                "platform": {"architecture": arch, "os": "linux"},
            })).collect::<Vec<_>>(),
        });
        let digest = self
            .put_manifest(
                image,
                tag,
                "application/vnd.oci.image.index.v1+json",
                &index,
            )
            .await;
        (digest, children.into_iter().map(|(d, _)| d).collect())
    }

    /// A platform manifest pushed by its digest; answers (digest, size).
    pub async fn push_child(&self, image: &str, text: &str) -> (String, usize) {
        let manifest = self.image_manifest(image, text, br#"{"os":"linux"}"#).await;
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let digest = format!("sha256:{}", registry_support::hex(&Sha256::digest(&bytes)));
        let pushed = self
            .put_manifest(image, &digest, OCI_MANIFEST, &manifest)
            .await;
        assert_eq!(pushed, digest);
        (digest, bytes.len())
    }

    /// The status of a GET of a manifest (by tag or digest): a pull.
    pub async fn pull(&self, image: &str, reference: &str) -> u16 {
        registry_support::http_client()
            .get(format!("http://{}/v2/{}/manifests/{reference}", self.host, self.name(image)))
            .bearer_auth(self.token(image).await)
            .header(
                "accept",
                "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
            )
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}
