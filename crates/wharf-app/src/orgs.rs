//! Organizations and their members.
//!
//! Visibility rule: an organization the actor may not read does not exist for them
//! (not found, never forbidden), so names of other tenants cannot be probed.

use wharf_api_types::{FieldError, MemberView, OrgView};
use wharf_core::{DisplayName, OrgAction, OrgKind, OrgName, PlatformAction, Role, TokenScope, UserName};
use wharf_db::orgs::Org;

use crate::input::invalid;
use crate::{Actor, App, AppError, Listed, Paging, Parsed, views};

/// An organization to create.
#[derive(Debug, Clone)]
pub struct NewOrg {
    /// Unique name.
    pub name: Parsed<OrgName>,
    /// Publisher, customer tenant or operator.
    pub kind: Parsed<OrgKind>,
    /// Human-friendly name.
    pub display_name: Parsed<Option<DisplayName>>,
    /// The first owner; `None` means the acting user (and no one for the console).
    pub owner: Parsed<Option<UserName>>,
}

/// An organization's registry storage: its quota and what it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// At most this many bytes; `None` for no quota.
    pub limit: Option<u64>,
    /// Bytes stored now.
    pub used: u64,
}

impl App {
    /// An organization the actor may read, with their role, after checking `action`.
    pub(crate) async fn org_for(
        &self,
        actor: &Actor,
        name: &str,
        action: OrgAction,
    ) -> Result<(Org, Option<Role>), AppError> {
        let not_found = || AppError::NotFound(format!("no organization named {name:?}"));
        let name: OrgName = name.parse().map_err(|_| not_found())?;
        let org = self.db.org_by_name(&name).await?.ok_or_else(not_found)?;
        let role = match actor.user_id() {
            Some(user) => self.db.role_in_org(org.id, user).await?,
            None => None,
        };
        if !actor.may_in_org(org.kind, role, OrgAction::Read) {
            return Err(not_found());
        }
        if !actor.may_in_org(org.kind, role, action) {
            return Err(AppError::Forbidden(format!("your role in {:?} does not allow this", org.name.as_str())));
        }
        Ok((org, role))
    }

    /// Organizations: all of them for operators (and the console), otherwise the actor's.
    pub async fn list_orgs(&self, actor: &Actor, paging: &Paging) -> Result<Listed<OrgView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let after = paging.after.as_deref();
        let rows = match actor.user_id() {
            None => self.db.list_orgs(after, paging.fetch()).await?.into_iter().map(|o| (o, None)).collect(),
            Some(user) if actor.may_platform(PlatformAction::ReadAll) => {
                self.db.list_orgs_with_role(user, after, paging.fetch()).await?
            }
            Some(user) => {
                let mine = self.db.orgs_of_user(user, after, paging.fetch()).await?;
                mine.into_iter().map(|(o, r)| (o, Some(r))).collect::<Vec<_>>()
            }
        };
        let views = rows.iter().map(|(o, r)| views::org(o, *r)).collect();
        Ok(Listed::from_rows(views, paging, |o| o.name.clone()))
    }

    /// Creates an organization (operators with the `admin` scope).
    pub async fn create_org(&self, actor: &Actor, new: NewOrg) -> Result<OrgView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        if !actor.may_platform(PlatformAction::ManageOrgs) {
            return Err(AppError::Forbidden("creating organizations needs the owner or admin role in an operator organization and, for tokens, the admin scope".into()));
        }
        let mut unknown = Vec::new();
        let owner = match &new.owner {
            Ok(None) | Err(_) => actor.user_id(),
            Ok(Some(name)) => match self.db.user_by_name(name).await? {
                Some(u) => Some(u.id),
                None => {
                    unknown.push(FieldError::new("/owner", format!("no user named {:?}", name.as_str())));
                    None
                }
            },
        };
        let (name, kind, display_name) = match (new.name, new.kind, new.display_name, new.owner) {
            (Ok(name), Ok(kind), Ok(display_name), Ok(_)) if unknown.is_empty() => (name, kind, display_name),
            (name, kind, display_name, owner) => {
                return Err(invalid([name.err(), kind.err(), display_name.err(), owner.err()], unknown));
            }
        };
        let display_name = display_name.as_ref().map(DisplayName::as_str);
        let org = self.db.create_org(&name, kind, display_name, owner).await?;
        let role = match actor.user_id() {
            Some(user) => self.db.role_in_org(org.id, user).await?,
            None => None,
        };
        tracing::info!(org.name = %org.name, org.kind = %org.kind, by = %actor.name(), "organization created");
        Ok(views::org(&org, role))
    }

    /// One organization.
    pub async fn org(&self, actor: &Actor, name: &str) -> Result<OrgView, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (org, role) = self.org_for(actor, name, OrgAction::Read).await?;
        Ok(views::org(&org, role))
    }

    /// Changes an organization's display name (admins); `None` leaves it as it is.
    pub async fn update_org(
        &self,
        actor: &Actor,
        name: &str,
        display_name: Parsed<Option<Option<DisplayName>>>,
    ) -> Result<OrgView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, role) = self.org_for(actor, name, OrgAction::Update).await?;
        let Some(display_name) = display_name.map_err(|e| invalid([Some(e)], Vec::new()))? else {
            return Ok(views::org(&org, role));
        };
        let updated = self
            .db
            .update_org(org.id, display_name.as_ref().map(DisplayName::as_str))
            .await?
            .ok_or_else(|| AppError::NotFound("organization deleted meanwhile".into()))?;
        Ok(views::org(&updated, role))
    }

    /// Deletes an organization and its memberships (owners).
    pub async fn delete_org(&self, actor: &Actor, name: &str) -> Result<(), AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, _) = self.org_for(actor, name, OrgAction::Delete).await?;
        self.db.delete_org(org.id).await?;
        tracing::info!(org.name = %org.name, by = %actor.name(), "organization deleted");
        Ok(())
    }

    /// Members of an organization, by user name.
    pub async fn members(&self, actor: &Actor, org: &str, paging: &Paging) -> Result<Listed<MemberView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (org, _) = self.org_for(actor, org, OrgAction::ReadMembers).await?;
        let rows = self.db.list_members(org.id, paging.after.as_deref(), paging.fetch()).await?;
        Ok(Listed::from_rows(rows.iter().map(views::member).collect(), paging, |m| m.user.clone()))
    }

    /// Adds a member or changes their role (admins; granting or taking away `owner`
    /// needs an owner). Returns the membership and whether it is new.
    pub async fn set_member(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
        new_role: Role,
    ) -> Result<(MemberView, bool), AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, role) = self.org_for(actor, org, OrgAction::ManageMembers).await?;
        let target = self.user_named(user).await?;
        let current = self.db.role_in_org(org.id, target.id).await?;
        if (new_role == Role::Owner || current == Some(Role::Owner))
            && !actor.may_in_org(org.kind, role, OrgAction::ManageOwners)
        {
            return Err(AppError::Forbidden("only owners may grant or take away the owner role".into()));
        }
        let previous = self.db.set_membership(org.id, target.id, new_role).await?;
        let member = self
            .db
            .member(org.id, target.id)
            .await?
            .ok_or_else(|| AppError::Conflict("the membership was removed meanwhile".into()))?;
        tracing::info!(org.name = %org.name, user.name = %target.name, role = %new_role, by = %actor.name(), "membership set");
        Ok((views::member(&member), previous.is_none()))
    }

    /// Removes a member (admins; removing an owner needs an owner). Members may leave.
    pub async fn remove_member(&self, actor: &Actor, org: &str, user: &str) -> Result<(), AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let leaving = matches!(actor, Actor::User(p) if p.user_name.as_str() == user);
        let action = if leaving { OrgAction::Read } else { OrgAction::ManageMembers };
        let (org, role) = self.org_for(actor, org, action).await?;
        let target = self.user_named(user).await?;
        let Some(current) = self.db.role_in_org(org.id, target.id).await? else {
            return Err(AppError::NotFound(format!("{user:?} is not a member of {:?}", org.name.as_str())));
        };
        if current == Role::Owner && !leaving && !actor.may_in_org(org.kind, role, OrgAction::ManageOwners) {
            return Err(AppError::Forbidden("only owners may remove an owner".into()));
        }
        self.db.remove_membership(org.id, target.id).await?;
        tracing::info!(org.name = %org.name, user.name = %target.name, by = %actor.name(), "membership removed");
        Ok(())
    }

    /// Sets (or with `None` removes) an organization's registry storage quota
    /// (operators managing organizations).
    pub async fn set_quota(&self, actor: &Actor, org: &str, limit: Option<u64>) -> Result<Quota, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        if !actor.may_platform(PlatformAction::ManageOrgs) {
            return Err(AppError::Forbidden("setting quotas needs an operator role with the admin scope".into()));
        }
        let (org, _) = self.org_for(actor, org, OrgAction::Read).await?;
        self.db.set_org_quota(org.id, limit).await?;
        let used = self.db.org_storage_bytes(org.id).await?;
        tracing::info!(org.name = %org.name, quota = ?limit, by = %actor.name(), "storage quota set");
        Ok(Quota { limit, used })
    }

    /// Approves a publisher organization (`approve`), recording who and when, or
    /// withdraws its approval (operators managing organizations). Its offers are
    /// certified only while it is approved.
    pub async fn set_approval(&self, actor: &Actor, org: &str, approve: bool) -> Result<OrgView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, role) = self.org_for(actor, org, OrgAction::Read).await?;
        if !actor.may_platform(PlatformAction::ManageOrgs) {
            return Err(AppError::Forbidden(
                "approving publishers needs the owner or admin role in an operator organization and, for tokens, the admin scope"
                    .into(),
            ));
        }
        if org.kind != OrgKind::Publisher {
            return Err(AppError::Conflict(format!(
                "{} is a {} organization: only publishers are approved",
                org.name, org.kind
            )));
        }
        let by = actor.name();
        let updated = self
            .db
            .set_org_approval(org.id, approve.then_some(by.as_str()))
            .await?
            .ok_or_else(|| AppError::NotFound("organization deleted meanwhile".into()))?;
        tracing::info!(org.name = %org.name, approved = approve, by = %by, "publisher approval changed");
        Ok(views::org(&updated, role))
    }

    /// A user named in a request path: not found when the name does not parse.
    pub(crate) async fn user_named(&self, name: &str) -> Result<wharf_db::users::User, AppError> {
        match name.parse::<UserName>() {
            Ok(n) => self.find_user(&n).await,
            Err(_) => Err(AppError::NotFound(format!("no user named {name:?}"))),
        }
    }
}
