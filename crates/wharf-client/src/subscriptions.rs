//! Access offers, subscriptions, pull secrets and deployments.

use wharf_api_types::{
    AccessOfferSpec, AccessOfferView, AccessSubscribeRequest, AccessSubscriptionView, CreatePullSecretRequest,
    CreatedPullSecretView, DeployRequest, DeploymentSummaryView, DeploymentView, PullSecretView, SubscribeRequest,
    SubscriptionView, UsageView,
};

use crate::{Client, ClientError};

impl Client {
    /// `GET /api/v1/access-offers`.
    pub async fn access_offers(&self) -> Result<Vec<AccessOfferView>, ClientError> {
        self.get("/api/v1/access-offers").await
    }

    /// `GET /api/v1/access-offers/{name}`.
    pub async fn access_offer(&self, name: &str) -> Result<AccessOfferView, ClientError> {
        self.get(&format!("/api/v1/access-offers/{name}")).await
    }

    /// `POST /api/v1/access-offers`, or `PUT /api/v1/access-offers/{name}` when it
    /// exists already (`replace`).
    pub async fn put_access_offer(
        &self,
        spec: &AccessOfferSpec,
        replace: bool,
    ) -> Result<AccessOfferView, ClientError> {
        if replace {
            let path = format!("/api/v1/access-offers/{}", spec.name);
            self.send(self.request(reqwest::Method::PUT, &path).json(spec)).await
        } else {
            self.post("/api/v1/access-offers", spec).await
        }
    }

    /// `DELETE /api/v1/access-offers/{name}`.
    pub async fn delete_access_offer(&self, name: &str) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/access-offers/{name}")).await
    }

    /// `POST /api/v1/orgs/{org}/access`.
    pub async fn subscribe_access(
        &self,
        org: &str,
        request: &AccessSubscribeRequest,
    ) -> Result<AccessSubscriptionView, ClientError> {
        self.post(&format!("/api/v1/orgs/{org}/access"), request).await
    }

    /// `GET /api/v1/orgs/{org}/access`.
    pub async fn access_subscriptions(&self, org: &str) -> Result<Vec<AccessSubscriptionView>, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}/access")).await
    }

    /// `DELETE /api/v1/orgs/{org}/access/{id}`.
    pub async fn cancel_access(&self, org: &str, id: i64) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/orgs/{org}/access/{id}")).await
    }

    /// `GET /api/v1/orgs/{org}/usage`.
    pub async fn usage(&self, org: &str) -> Result<UsageView, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}/usage")).await
    }

    /// `POST /api/v1/orgs/{org}/subscriptions` with a fresh `Idempotency-Key`, sent
    /// again once with the same key if the server could not be reached: one
    /// subscription either way.
    pub async fn subscribe(&self, org: &str, request: &SubscribeRequest) -> Result<SubscriptionView, ClientError> {
        let key = uuid::Uuid::new_v4().to_string();
        let path = format!("/api/v1/orgs/{org}/subscriptions");
        let send = || self.request(reqwest::Method::POST, &path).header("idempotency-key", &key).json(request);
        match self.send(send()).await {
            Err(ClientError::Unreachable { .. }) => self.send(send()).await,
            other => other,
        }
    }

    /// `GET /api/v1/orgs/{org}/subscriptions`.
    pub async fn subscriptions(&self, org: &str) -> Result<Vec<SubscriptionView>, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}/subscriptions")).await
    }

    /// `GET /api/v1/orgs/{org}/subscriptions/{id}`.
    pub async fn subscription(&self, org: &str, id: i64) -> Result<SubscriptionView, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}/subscriptions/{id}")).await
    }

    /// `POST /api/v1/orgs/{org}/subscriptions/{id}/cancel`.
    pub async fn cancel_subscription(&self, org: &str, id: i64) -> Result<SubscriptionView, ClientError> {
        self.post(&format!("/api/v1/orgs/{org}/subscriptions/{id}/cancel"), &serde_json::json!({})).await
    }

    /// `POST /api/v1/orgs/{org}/subscriptions/{id}/pull-secrets`.
    pub async fn create_pull_secret(
        &self,
        org: &str,
        id: i64,
        name: &str,
    ) -> Result<CreatedPullSecretView, ClientError> {
        let body = CreatePullSecretRequest { name: name.to_owned() };
        self.post(&format!("/api/v1/orgs/{org}/subscriptions/{id}/pull-secrets"), &body).await
    }

    /// `GET /api/v1/orgs/{org}/subscriptions/{id}/pull-secrets`.
    pub async fn pull_secrets(&self, org: &str, id: i64) -> Result<Vec<PullSecretView>, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}/subscriptions/{id}/pull-secrets")).await
    }

    /// `DELETE /api/v1/orgs/{org}/subscriptions/{id}/pull-secrets/{secret}`.
    pub async fn revoke_pull_secret(&self, org: &str, id: i64, secret: i64) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/orgs/{org}/subscriptions/{id}/pull-secrets/{secret}")).await
    }

    /// `POST /api/v1/orgs/{org}/subscriptions/{id}/deployments`.
    pub async fn deploy(&self, org: &str, id: i64, request: &DeployRequest) -> Result<DeploymentView, ClientError> {
        self.post(&format!("/api/v1/orgs/{org}/subscriptions/{id}/deployments"), request).await
    }

    /// `GET /api/v1/orgs/{org}/subscriptions/{id}/deployments`.
    pub async fn deployments(&self, org: &str, id: i64) -> Result<Vec<DeploymentSummaryView>, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}/subscriptions/{id}/deployments")).await
    }

    /// `DELETE /api/v1/orgs/{org}/subscriptions/{id}/deployments/{deployment}`.
    pub async fn delete_deployment(&self, org: &str, id: i64, deployment: i64) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/orgs/{org}/subscriptions/{id}/deployments/{deployment}")).await
    }
}
