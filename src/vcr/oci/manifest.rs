//! The manifests a copy moves, by kind: what each refers to, so that a copy moves
//! children before their parent, as a registry requires (a manifest naming a blob or
//! manifest the repository does not hold is refused).

use serde::Deserialize;

use super::RegistryError;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index (a multi-platform image).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (a multi-platform image).
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Every kind a copy moves, for `Accept`: a registry answers in the stored kind
/// when it is one of these (and converts nothing).
pub const ACCEPTED: [&str; 4] = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

/// A content descriptor: what a manifest says of a blob or a child manifest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

/// A manifest read, by what it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    /// An image (or artifact): its config and layers, all blobs.
    Image { blobs: Vec<Descriptor> },
    /// An index or manifest list: its child manifests.
    Index { manifests: Vec<Descriptor> },
}

/// The media type a manifest is stored with: the answer's `Content-Type` when it is
/// one this client copies, else the document's own `mediaType`.
pub fn media_type(content_type: Option<&str>, body: &[u8]) -> Result<String, RegistryError> {
    let declared = content_type
        .map(|c| c.split(';').next().unwrap_or_default().trim().to_string())
        .filter(|c| ACCEPTED.contains(&c.as_str()));
    if let Some(c) = declared {
        return Ok(c);
    }
    let fields = parse(body)?;
    match fields.media_type {
        Some(m) if ACCEPTED.contains(&m.as_str()) => Ok(m),
        // An OCI manifest need not say its type: its shape does.
        None if fields.manifests.is_some() => Ok(OCI_INDEX.into()),
        None if fields.config.is_some() => Ok(OCI_MANIFEST.into()),
        other => Err(RegistryError::Unsupported(format!(
            "a manifest of type {:?} (this provider copies OCI images and indexes and Docker schema 2 images and lists)",
            other.or(content_type.map(str::to_string)).unwrap_or_default()
        ))),
    }
}

fn parse(body: &[u8]) -> Result<Fields, RegistryError> {
    let fields: Fields = serde_json::from_slice(body).map_err(|e| {
        RegistryError::Unsupported(format!(
            "a manifest that is not JSON as OCI describes it ({e})"
        ))
    })?;
    if fields.schema_version != Some(2) {
        return Err(RegistryError::Unsupported(format!(
            "a manifest of schema version {:?} (only version 2 is copied; Docker's schema 1 was retired)",
            fields.schema_version
        )));
    }
    Ok(fields)
}

/// What a manifest of `media_type` refers to.
pub fn contents(media_type: &str, body: &[u8]) -> Result<Contents, RegistryError> {
    let fields = parse(body)?;
    match media_type {
        OCI_INDEX | DOCKER_LIST => Ok(Contents::Index {
            manifests: fields.manifests.unwrap_or_default(),
        }),
        _ => {
            let config = fields.config.ok_or_else(|| {
                RegistryError::Unsupported("an image manifest without a config".into())
            })?;
            let mut blobs = vec![config];
            blobs.extend(fields.layers.unwrap_or_default());
            Ok(Contents::Image { blobs })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn an_image_refers_to_its_config_then_its_layers() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"c","digest":"{D1}","size":3}},"layers":[{{"mediaType":"l","digest":"{D2}","size":9}}]}}"#
        );
        let mt = media_type(Some("application/json"), body.as_bytes()).unwrap();
        assert_eq!(mt, DOCKER_MANIFEST);
        let Contents::Image { blobs } = contents(&mt, body.as_bytes()).unwrap() else {
            panic!("an image")
        };
        let digests: Vec<_> = blobs.iter().map(|b| (b.digest.as_str(), b.size)).collect();
        assert_eq!(digests, [(D1, 3), (D2, 9)]);
    }

    #[test]
    fn an_index_refers_to_its_platform_manifests_and_its_type_comes_from_its_shape() {
        let body = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":5}},{{"mediaType":"{OCI_MANIFEST}","digest":"{D2}","size":6}}]}}"#
        );
        let mt = media_type(None, body.as_bytes()).unwrap();
        assert_eq!(mt, OCI_INDEX);
        let Contents::Index { manifests } = contents(&mt, body.as_bytes()).unwrap() else {
            panic!("an index")
        };
        assert_eq!(manifests.len(), 2);
        assert_eq!(manifests[1].digest, D2);
    }

    #[test]
    fn schema_one_and_unknown_kinds_are_refused_by_name() {
        let v1 = br#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#;
        let e = media_type(
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            v1,
        )
        .unwrap_err();
        assert!(e.to_string().contains("schema version Some(1)"), "{e}");
        let odd = br#"{"schemaVersion":2,"mediaType":"application/x-odd"}"#;
        let e = media_type(None, odd).unwrap_err();
        assert!(e.to_string().contains("application/x-odd"), "{e}");
    }
}
