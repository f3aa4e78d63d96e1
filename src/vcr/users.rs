//! Repository-user (robot account) calls (`/v1/user`).

use super::models::{CreateUser, Page, PermissionRequest, Policy, RobotAccount, UpdateUser};
use super::repositories::dedup_by;
use super::{request, Client, Region, Secret, VcrError};

/// The repository-user calls of one region: `client.users(Region::Hcm)`.
#[derive(Debug, Clone, Copy)]
pub struct Users<'c> {
    client: &'c Client,
    region: Region,
}

impl<'c> Users<'c> {
    pub(crate) fn new(client: &'c Client, region: Region) -> Self {
        Users { client, region }
    }

    /// The region these calls go to.
    pub fn region(&self) -> Region {
        self.region
    }

    /// `GET /v1/user`: one page, optionally filtered by name (the server may
    /// match substrings).
    pub async fn list(
        &self,
        name: Option<&str>,
        page: u32,
        size: u32,
    ) -> Result<Page<RobotAccount>, VcrError> {
        self.client
            .send_json(self.region, &request::user::list(name, page, size))
            .await
    }

    /// Every user (walking all pages), optionally filtered by name.
    pub async fn list_all(&self, name: Option<&str>) -> Result<Vec<RobotAccount>, VcrError> {
        let all = self.walk(name, Some).await?;
        Ok(dedup_by(all, |u| u.uuid.clone()))
    }

    /// The users of every page of the list (filtered by `name` as the server
    /// filters), keeping only what `keep` returns.
    async fn walk(
        &self,
        name: Option<&str>,
        keep: impl FnMut(RobotAccount) -> Option<RobotAccount>,
    ) -> Result<Vec<RobotAccount>, VcrError> {
        self.client
            .walk(
                self.region,
                |page, size| request::user::list(name, page, size),
                keep,
            )
            .await
    }

    /// The user whose name is exactly `name`, if any; the walk keeps no other.
    pub async fn find_by_name(&self, name: &str) -> Result<Option<RobotAccount>, VcrError> {
        let found = self.walk(Some(name), |u| (u.name == name).then_some(u));
        Ok(found.await?.into_iter().next())
    }

    /// The user with this id, if any (the contract has no GET by id: this
    /// lists and matches, keeping no other user).
    pub async fn find_by_id(&self, id: &str) -> Result<Option<RobotAccount>, VcrError> {
        let found = self.walk(None, |u| (u.uuid == id).then_some(u));
        Ok(found.await?.into_iter().next())
    }

    /// `POST /v1/user`: creates the user and returns its secret, which no
    /// other call returns again. The answer has no id: use
    /// [`Users::find_by_name`]. Not resent unless the request surely never
    /// reached the server.
    pub async fn create(&self, req: &CreateUser) -> Result<Secret, VcrError> {
        let bytes = self
            .client
            .send(self.region, &request::user::create(req))
            .await?;
        secret_from_answer(&bytes).ok_or_else(|| {
            VcrError::unexpected("POST", "/v1/user", "the answer holds no secretKey")
        })
    }

    /// `PUT /v1/user/{id}`: sets the duration (days from now; `None` for
    /// never) and the description.
    pub async fn update(&self, id: &str, req: &UpdateUser) -> Result<(), VcrError> {
        let call = request::user::update(id, req);
        self.client.send(self.region, &call).await.map(drop)
    }

    /// `DELETE /v1/user/{id}`.
    pub async fn delete(&self, id: &str) -> Result<(), VcrError> {
        let call = request::user::delete(id);
        self.client.send(self.region, &call).await.map(drop)
    }

    /// `PUT /v1/user/{id}/enable`.
    pub async fn enable(&self, id: &str) -> Result<(), VcrError> {
        let call = request::user::enable(id);
        self.client.send(self.region, &call).await.map(drop)
    }

    /// `PUT /v1/user/{id}/disable`.
    pub async fn disable(&self, id: &str) -> Result<(), VcrError> {
        let call = request::user::disable(id);
        self.client.send(self.region, &call).await.map(drop)
    }

    /// `PUT /v1/user/{id}/permission`: replaces the user's permissions on
    /// every repository with `permissions`.
    pub async fn set_permissions(
        &self,
        id: &str,
        permissions: &[PermissionRequest],
    ) -> Result<(), VcrError> {
        let call = request::user::set_permissions(id, permissions);
        self.client.send(self.region, &call).await.map(drop)
    }

    /// `GET /v1/user/{id}/refresh`: a new secret replaces the old one. This GET
    /// changes state: it is not resent unless it surely never reached the
    /// server.
    pub async fn refresh_secret(&self, id: &str) -> Result<Secret, VcrError> {
        let bytes = self
            .client
            .send(self.region, &request::user::refresh_secret(id))
            .await?;
        secret_from_answer(&bytes).ok_or_else(|| {
            VcrError::unexpected(
                "GET",
                &format!("/v1/user/{id}/refresh"),
                "the answer holds no secret",
            )
        })
    }

    /// `GET /v1/user/permissions`: the policies that can be granted.
    pub async fn policies(&self) -> Result<Vec<Policy>, VcrError> {
        self.client
            .send_json(self.region, &request::user::policies())
            .await
    }
}

/// The secret in an answer: a bare JSON string, `{"secretKey": ...}`, or (to be
/// tolerant) a bare token of text. Never puts the body in an error.
fn secret_from_answer(body: &[u8]) -> Option<Secret> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::String(s)) if !s.is_empty() => Some(Secret::new(s)),
        Ok(serde_json::Value::Object(m)) => m
            .get(super::contract::SECRET_FIELD)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(Secret::new),
        Ok(_) => None,
        Err(_) => {
            let text = std::str::from_utf8(body).ok()?.trim();
            let plausible = !text.is_empty()
                && !text.contains(|c: char| c.is_whitespace() || "{}[]\"<>".contains(c));
            plausible.then(|| Secret::new(text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_shapes() {
        assert_eq!(secret_from_answer(br#""abc""#).unwrap().expose(), "abc");
        assert_eq!(
            secret_from_answer(br#"{"secretKey":"abc"}"#)
                .unwrap()
                .expose(),
            "abc"
        );
        assert_eq!(secret_from_answer(b"abc\n").unwrap().expose(), "abc");
        assert!(secret_from_answer(br#"{"other":1}"#).is_none());
        assert!(secret_from_answer(b"<html>oops</html>").is_none());
        assert!(secret_from_answer(br#""""#).is_none());
    }
}
