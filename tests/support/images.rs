//! Images in a repository, for the tests that need a repository which is not empty.
//!
//! The only place that knows how an image gets into vcr-local: a real push through
//! the region's Docker registry (as a throw-away push user made through the API),
//! with a layer of the given size streamed, never held in memory.

use vcr_provider::vcr::Region;

use super::local::LocalVcr;

#[path = "../registry_support/mod.rs"]
pub mod registry_support;

/// An image to put into a repository.
pub struct Image<'a> {
    pub name: &'a str,
    /// `None`: `latest`.
    pub tag: Option<&'a str>,
    /// Its size in MiB, which counts against the repository's quota.
    pub size_mb: u64,
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
        image.size_mb,
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
