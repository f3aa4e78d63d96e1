//! What the client takes as given about the real vCR API, each with its public source.
//!
//! The calls themselves (paths, methods, body and query field names) are built in
//! [`super::request`] from the vCR API reference, an OpenAPI page:
//! <https://docs.api.vngcloud.vn/service-docs/vcr.html> (its request samples show every
//! path, query parameter and body field used here). `shared/vcr-api.md` is the
//! project's reading of it. Where the public material is silent or contradicts
//! itself, the choice is **assumed** and kept here, so that when the real service
//! says otherwise, one file changes.

/// IAM token endpoint (client-credentials grant, `Authorization: Basic
/// base64(id:secret)`, body `grant_type=client_credentials`). Source: VNG Cloud API
/// introduction, <https://docs.api.vngcloud.vn> ("Authorization"), and the IAM
/// accounts API, <https://docs.api.vngcloud.vn/service-docs/accounts-api.html>.
pub const DEFAULT_TOKEN_URL: &str = "https://iamapis.vngcloud.vn/accounts-api/v2/auth/token";

/// HCM management API. Source: the request samples of the vCR API reference
/// (`https://vcr.api.vngcloud.vn/v1/...`).
pub const HCM_API_BASE: &str = "https://vcr.api.vngcloud.vn";
/// HAN management API. **Assumed**: no public source names it. The console lives under
/// `han-1.console.vngcloud.vn/vcr`; we assume the API follows the same pattern under
/// `han-1.api.vngcloud.vn/vcr-api`.
pub const HAN_API_BASE: &str = "https://han-1.api.vngcloud.vn/vcr-api";

/// Docker registry host, HCM. Source: the vCR user guide (docs.vngcloud.vn,
/// vContainer Registry: "docker login vcr.vngcloud.vn").
pub const HCM_REGISTRY_HOST: &str = "vcr.vngcloud.vn";
/// Docker registry host, HAN. Source: the vCR user guide (HAN region).
pub const HAN_REGISTRY_HOST: &str = "vcr-han.vngcloud.vn";

/// **Assumed** error body: `{"message":"...","errorCode":"..."}`. The reference
/// documents only 401 and 500 without a body schema. The client reads these two
/// fields when present and falls back to the raw text of the body (shortened) when
/// the body has another shape.
pub const ERROR_MESSAGE_FIELD: &str = "message";
/// See [`ERROR_MESSAGE_FIELD`].
pub const ERROR_CODE_FIELD: &str = "errorCode";

/// **Assumed**: the account id (the prefix of every `backendName`) is carried by the
/// IAM access token, a JWT, in this claim. The IAM accounts API's `userinfo` answer
/// names the field `accountId`; that the token carries it is not documented.
pub const ACCOUNT_ID_CLAIM: &str = "accountId";

/// Paging is 1-based; `page=0` is refused by the server. Source: observed (a 400
/// "Page or size invalid"), not in the reference.
pub const FIRST_PAGE: u32 = 1;

/// Page size used when the client walks every page of a list. **Assumed**: the
/// service accepts at least this many items per page.
pub const WALK_PAGE_SIZE: u32 = 50;

/// **Assumed**: a safety bound on how many pages the client walks before it gives up
/// (a server whose paging never ends must not hang the caller).
pub const MAX_WALK_PAGES: u32 = 10_000;

/// `GET /v1/repository/{id}/images` fails with 500 on the real service without a
/// `name` query parameter, though the reference marks it optional: it is always sent,
/// empty when there is no filter. Source: reported by users of the API (see
/// `shared/vcr-api.md`, Repositories).
pub const IMAGE_LIST_NEEDS_NAME: bool = true;

/// **Assumed**, Harbor-like: the reference publishes no fields for ImageDto and
/// ArtifactDto. ImageDto is taken as `{"name","artifactCount","pullCount","updateTime"}`
/// and ArtifactDto as `{"digest","tags","size","pushTime","mediaType"}` (`size` in
/// bytes). The names are decoded in one place, [`super::Image`] and
/// [`super::Artifact`]; these lists say them for readers and are checked against the
/// decoders by a test.
pub const IMAGE_FIELDS: [&str; 4] = ["name", "artifactCount", "pullCount", "updateTime"];
/// See [`IMAGE_FIELDS`].
pub const ARTIFACT_FIELDS: [&str; 5] = ["digest", "tags", "size", "pushTime", "mediaType"];

/// **Assumed**: the `name` filter of the image list lets through at least every image
/// whose name contains the text (vcr-local and Harbor match a part of the name), so a
/// caller may send a prefix and apply its own rule to what comes back. What the
/// artifact list's `name` filter matches (a tag? a digest? a part of either?) is not
/// documented: an artifact is looked up in the unfiltered list.
pub const IMAGE_NAME_FILTER_MATCHES_PART: bool = true;

/// **Assumed**: `description` is not in the reference's request schema of `POST
/// /v1/user`, though the console sets one; it is sent only when the user set one.
pub const USER_DESCRIPTION_ONLY_WHEN_SET: bool = true;
