//! Users and the first-user flow (`/api/v2/users...`).

use coder_core::model::{
    CreateFirstUserRequest, CreateFirstUserResponse, CreateUserRequestWithOrgs, GetUsersResponse,
    User,
};
use reqwest::Method;

use super::segment;
use crate::{Client, Error, Result};

/// Users. `user` arguments accept a UUID, a username, or `me`.
///
/// ```no_run
/// # async fn demo(client: coder_client::Client) -> coder_client::Result<()> {
/// if !client.users().first_user_exists().await? {
///     client.users().create_first_user(&coder_core::model::CreateFirstUserRequest {
///         email: "admin@example.com".into(),
///         username: "admin".into(),
///         password: "a long password".into(),
///         ..Default::default()
///     }).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    pub(crate) client: &'a Client,
}

impl Users<'_> {
    /// The user the session belongs to.
    pub async fn me(&self) -> Result<User> {
        self.get("me").await
    }

    /// A user by id, username or `me`.
    pub async fn get(&self, user: &str) -> Result<User> {
        self.client
            .http
            .get(&format!("/api/v2/users/{}", segment(user)?), &[])
            .await
    }

    /// Users matching `q` (e.g. `status:active`), all of them when empty.
    pub async fn list(&self, q: &str) -> Result<GetUsersResponse> {
        let query = if q.is_empty() {
            vec![]
        } else {
            vec![("q", q.to_owned())]
        };
        self.client.http.get("/api/v2/users", &query).await
    }

    /// Creates a user (owners only).
    pub async fn create(&self, request: &CreateUserRequestWithOrgs) -> Result<User> {
        self.client
            .http
            .write(Method::POST, "/api/v2/users", request)
            .await
    }

    /// Suspends a user (owners only): their sessions and tokens stop working.
    pub async fn suspend(&self, user: &str) -> Result<User> {
        let path = format!("/api/v2/users/{}/status/suspend", segment(user)?);
        self.client.http.write(Method::PUT, &path, &()).await
    }

    /// Activates a suspended or dormant user (owners only).
    pub async fn activate(&self, user: &str) -> Result<User> {
        let path = format!("/api/v2/users/{}/status/activate", segment(user)?);
        self.client.http.write(Method::PUT, &path, &()).await
    }

    /// Whether the deployment already has its first user.
    pub async fn first_user_exists(&self) -> Result<bool> {
        match self
            .client
            .http
            .get::<serde_json::Value>("/api/v2/users/first", &[])
            .await
        {
            Ok(_) => Ok(true),
            Err(Error::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Creates the first user, the owner of a fresh deployment (`409` once one exists).
    pub async fn create_first_user(
        &self,
        request: &CreateFirstUserRequest,
    ) -> Result<CreateFirstUserResponse> {
        self.client
            .http
            .write(Method::POST, "/api/v2/users/first", request)
            .await
    }
}
