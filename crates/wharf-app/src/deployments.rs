//! Deployments of a subscription's plan (`wharf deploy`): the customer's values
//! checked against the plan's parameters (every problem at once), the live version's
//! template rendered by `wharf-deploy` with its images pinned by digest, and a pull
//! secret issued for the deployment. Each recorded deployment counts against the
//! `deployments` quota of the access plans it goes through; deleting it frees the
//! quota and revokes its pull secret. A dry run checks and renders with
//! placeholders, records and issues nothing.

use std::collections::BTreeMap;

use wharf_api_types::{DeployFileView, DeployRequest, DeploymentSummaryView, DeploymentView, FieldError};
use wharf_auth::api_token;
use wharf_core::{OrgAction, OrgName, QuotaKind, TokenScope};
use wharf_db::deployments::{DeploymentRow, NewDeployment};
use wharf_db::subscriptions::SubscribeError;
use wharf_deploy::{DeployError, Target};

use crate::{Actor, App, AppError};

fn deploy_error(e: DeployError) -> AppError {
    match e {
        DeployError::Values(problems) => {
            AppError::Invalid(problems.into_iter().map(|(p, m)| FieldError::new(&p, m)).collect())
        }
        DeployError::Template(problems) => AppError::Conflict(format!(
            "the plan's deployment template cannot be rendered (the publisher's to fix): {}",
            problems.join("; ")
        )),
    }
}

fn summary(d: &DeploymentRow) -> DeploymentSummaryView {
    DeploymentSummaryView {
        id: d.id,
        name: d.name.clone(),
        kind: d.kind.clone(),
        version: d.version,
        pull_secret: d.pull_secret,
        created_by: d.created_by.clone(),
        created_at: d.created_at,
    }
}

impl App {
    /// Renders a deployment of subscription `id` (see the module): admins record one;
    /// a dry run needs only read access.
    pub async fn deploy(
        &self,
        actor: &Actor,
        org: &str,
        id: i64,
        request: DeployRequest,
    ) -> Result<DeploymentView, AppError> {
        actor.require(if request.dry_run { TokenScope::ApiRead } else { TokenScope::ApiWrite })?;
        let action = if request.dry_run { OrgAction::ReadSubscriptions } else { OrgAction::Subscribe };
        let (org, s) = self.org_subscription(actor, org, id, action).await?;
        if s.cancelled.is_some() {
            return Err(AppError::Conflict(format!("subscription {id} is cancelled")));
        }
        let version = self
            .live_version(s.offer)
            .await?
            .ok_or_else(|| AppError::Conflict("the offer has no live version to deploy".into()))?;
        let spec = self.live_spec(s.offer, version).await?;
        let plan = spec.plans.iter().find(|p| p.id.as_deref() == Some(s.plan.as_str()));
        let deployment = plan
            .and_then(|p| p.deployment.clone())
            .ok_or_else(|| AppError::Conflict(format!("plan {:?} describes no deployment", s.plan)))?;
        let offer_id = spec.id.clone().unwrap_or_default();
        let name = match &request.name {
            Some(n) => {
                n.parse::<OrgName>().map_err(|e| AppError::field("/name", e))?;
                n.clone()
            }
            // Like Kubernetes' generateName: the offer (a DNS label: `_` becomes `-`,
            // short enough for a Helm release) and five random hex digits.
            None => {
                let base: String = offer_id.replace('_', "-").chars().take(40).collect();
                let (_, random) = api_token::generate();
                format!("{}-{}", base.trim_end_matches('-'), &random[..5])
            }
        };
        // Each source repository of the plan → its promoted image, pinned; with
        // several tags of one repository, the highest version.
        let host = &self.marketplace.registry_host;
        let mut images: BTreeMap<String, (String, String)> = BTreeMap::new();
        for p in self.db.promotions(s.offer, version).await?.into_iter().filter(|p| p.plan == s.plan) {
            let source = p.source.rsplit_once(':').map_or(p.source.as_str(), |(repo, _)| repo).to_owned();
            let newer = images.get(&source).is_none_or(|(tag, _)| version_order(&p.tag) > version_order(tag));
            if newer {
                images.insert(source, (p.tag.clone(), format!("{host}/{}@{}", p.repository, p.digest)));
            }
        }
        let images: BTreeMap<String, String> = images.into_iter().map(|(k, (_, v))| (k, v)).collect();
        let target = Target { registry: host, images: &images, name: &name, credential: None };
        let resolved = wharf_deploy::check_values(&deployment, &request.values).map_err(deploy_error)?;
        // Rendered with placeholders first: a broken template issues nothing.
        let dry = wharf_deploy::render_with(&deployment, &resolved, &target).map_err(deploy_error)?;
        let mut view = DeploymentView {
            id: None,
            subscription: s.id,
            name: name.clone(),
            kind: dry.kind.clone(),
            version,
            argv: Vec::new(),
            files: Vec::new(),
            commands: Vec::new(),
            values: BTreeMap::new(),
            generated: Vec::new(),
            registry: host.clone(),
            username: None,
            password: None,
        };
        let rendered = if request.dry_run {
            dry
        } else {
            let grant = self.grants(org.id).await?.into_iter().find(|g| g.base.id == s.access_subscription);
            let limit = grant.and_then(|g| g.limit(QuotaKind::Deployments));
            let (secret, hash) = api_token::generate_pull_secret();
            let new = NewDeployment {
                subscription: s.id,
                version,
                kind: &dry.kind,
                name: &name,
                secret_hash: &hash,
                by: &actor.name(),
                quota: limit.map(|l| (s.access_subscription, l)),
            };
            let row = match self.db.create_deployment(&new).await {
                Ok(row) => row,
                Err(SubscribeError::Quota(used, limit)) => {
                    return Err(AppError::QuotaExceeded(format!(
                        "quota deployments is used up: {used} of {limit} deployments; delete one, or add an \
                         add-on plan that raises it"
                    )));
                }
                Err(SubscribeError::Exists(_)) => return Err(AppError::Conflict("deployment exists".into())),
                Err(SubscribeError::Db(e)) => return Err(e.into()),
            };
            let user = api_token::pull_secret_user(row.pull_secret.unwrap_or_default());
            let target = Target { credential: Some((&user, &secret)), ..target };
            let rendered = wharf_deploy::render_with(&deployment, &resolved, &target).map_err(deploy_error)?;
            tracing::info!(org = %org.name, subscription = s.id, deployment = row.id, kind = %rendered.kind, by = %actor.name(), "deployment rendered");
            view.id = Some(row.id);
            view.username = Some(user);
            view.password = Some(secret);
            rendered
        };
        view.argv = rendered.argv;
        view.files = rendered.files.into_iter().map(|f| DeployFileView { name: f.name, content: f.content }).collect();
        view.commands = rendered.commands;
        view.values = rendered.values;
        view.generated = rendered.generated;
        Ok(view)
    }

    /// A subscription's recorded deployments, newest first.
    pub async fn deployments(&self, actor: &Actor, org: &str, id: i64) -> Result<Vec<DeploymentSummaryView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (_, s) = self.org_subscription(actor, org, id, OrgAction::ReadSubscriptions).await?;
        Ok(self.db.deployments(s.id).await?.iter().map(summary).collect())
    }

    /// Deletes a recorded deployment (admins): its pull secret is revoked and its
    /// place in the quota freed.
    pub async fn delete_deployment(&self, actor: &Actor, org: &str, id: i64, deployment: i64) -> Result<(), AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (_, s) = self.org_subscription(actor, org, id, OrgAction::Subscribe).await?;
        if !self.db.delete_deployment(s.id, deployment).await? {
            return Err(AppError::NotFound(format!("subscription {id} has no deployment {deployment}")));
        }
        Ok(())
    }
}

/// Orders version tags (`X.Y.Z[-suffix]`) by their numbers; what does not parse sorts first.
fn version_order(tag: &str) -> (Vec<u64>, bool) {
    let (core, pre) = tag.split_once('-').map_or((tag, None), |(c, p)| (c, Some(p)));
    (core.split('.').map(|n| n.parse().unwrap_or(0)).collect(), pre.is_none())
}
