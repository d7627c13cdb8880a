//! Organizations and memberships.

use sqlx::any::AnyRow;
use wharf_core::{OrgId, OrgKind, OrgName, Role, Timestamp, UserId, UserName};

use crate::error::{conflict, parse_stored};
use crate::pool::col;
use crate::{Backend, Db, DbError};

/// A stored organization.
#[derive(Debug, Clone)]
pub struct Org {
    /// Database id.
    pub id: OrgId,
    /// Unique name; first component of its repositories' names.
    pub name: OrgName,
    /// Publisher, customer tenant or operator.
    pub kind: OrgKind,
    /// Human-friendly name.
    pub display_name: Option<String>,
    /// A publisher's approval by an operator, if approved.
    pub approval: Option<Approval>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// Who approved a publisher, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The operator (or `wharf-admin`).
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// A member of an organization.
#[derive(Debug, Clone)]
pub struct Member {
    /// The user's id.
    pub user_id: UserId,
    /// The user's name.
    pub user_name: UserName,
    /// Their role in the organization.
    pub role: Role,
    /// When they joined.
    pub since: Timestamp,
}

const COLUMNS: &str = "o.id, o.name, o.kind, o.display_name, o.approved_at, o.approved_by, o.created_at, o.updated_at";
/// The same columns unqualified, for `RETURNING`.
const RETURNING: &str = "id, name, kind, display_name, approved_at, approved_by, created_at, updated_at";

fn org_from_row(row: &AnyRow) -> Result<Org, DbError> {
    Ok(Org {
        id: OrgId(col(row, "id")?),
        name: parse_stored("organizations.name", &col::<String>(row, "name")?)?,
        kind: parse_stored("organizations.kind", &col::<String>(row, "kind")?)?,
        display_name: col(row, "display_name")?,
        approval: match (col::<Option<i64>>(row, "approved_at")?, col::<Option<String>>(row, "approved_by")?) {
            (Some(at), Some(by)) => Some(Approval { by, at: Timestamp::from_millis(at) }),
            _ => None,
        },
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        updated_at: Timestamp::from_millis(col(row, "updated_at")?),
    })
}

fn member_from_row(r: &AnyRow) -> Result<Member, DbError> {
    Ok(Member {
        user_id: UserId(col(r, "id")?),
        user_name: parse_stored("users.name", &col::<String>(r, "name")?)?,
        role: role_from_row(r)?,
        since: Timestamp::from_millis(col(r, "created_at")?),
    })
}

fn role_from_row(row: &AnyRow) -> Result<Role, DbError> {
    parse_stored("memberships.role", &col::<String>(row, "role")?)
}

impl Db {
    /// Creates an organization, with `owner` as its first owner when given, in one
    /// transaction. [`DbError::Conflict`] when the name is taken.
    pub async fn create_org(
        &self,
        name: &OrgName,
        kind: OrgKind,
        display_name: Option<&str>,
        owner: Option<UserId>,
    ) -> Result<Org, DbError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO organizations (name, kind, display_name, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING {RETURNING}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name.as_str())
            .bind(kind.as_str())
            .bind(display_name)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(conflict(|| format!("organization {:?}", name.as_str())))?;
        let org = org_from_row(&row)?;
        if let Some(user) = owner {
            sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)")
                .bind(org.id.0)
                .bind(user.0)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(org)
    }

    /// Looks an organization up by name.
    pub async fn org_by_name(&self, name: &OrgName) -> Result<Option<Org>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM organizations o WHERE o.name = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name.as_str()).fetch_optional(self.pool()).await?;
        row.as_ref().map(org_from_row).transpose()
    }

    /// Looks an organization up by id.
    pub async fn org_by_id(&self, id: OrgId) -> Result<Option<Org>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM organizations o WHERE o.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(self.pool()).await?;
        row.as_ref().map(org_from_row).transpose()
    }

    /// All organizations ordered by name, after `after`, at most `limit`.
    pub async fn list_orgs(&self, after: Option<&str>, limit: u32) -> Result<Vec<Org>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM organizations o WHERE o.name > $1 ORDER BY o.name LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(org_from_row).collect()
    }

    /// The ids of the organizations a user belongs to.
    pub async fn org_ids_of_user(&self, user: UserId) -> Result<Vec<OrgId>, DbError> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT org_id FROM memberships WHERE user_id = $1 ORDER BY org_id")
            .bind(user.0)
            .fetch_all(self.pool())
            .await?;
        Ok(ids.into_iter().map(OrgId).collect())
    }

    /// The organizations a user belongs to, with their role, ordered by name.
    pub async fn orgs_of_user(
        &self,
        user: UserId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(Org, Role)>, DbError> {
        let sql = format!(
            "SELECT {COLUMNS}, m.role FROM organizations o JOIN memberships m ON m.org_id = o.id \
             WHERE m.user_id = $1 AND o.name > $2 ORDER BY o.name LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.0)
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((org_from_row(r)?, role_from_row(r)?))).collect()
    }

    /// All organizations ordered by name with `user`'s role in each (if any).
    pub async fn list_orgs_with_role(
        &self,
        user: UserId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(Org, Option<Role>)>, DbError> {
        let sql = format!(
            "SELECT {COLUMNS}, m.role FROM organizations o \
             LEFT JOIN memberships m ON m.org_id = o.id AND m.user_id = $1 \
             WHERE o.name > $2 ORDER BY o.name LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.0)
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let role =
                    col::<Option<String>>(r, "role")?.map(|v| parse_stored("memberships.role", &v)).transpose()?;
                Ok((org_from_row(r)?, role))
            })
            .collect()
    }

    /// The user's roles in operator organizations (for platform permissions).
    pub async fn operator_roles(&self, user: UserId) -> Result<Vec<Role>, DbError> {
        let rows = sqlx::query(
            "SELECT m.role FROM memberships m JOIN organizations o ON o.id = m.org_id \
             WHERE m.user_id = $1 AND o.kind = 'operator'",
        )
        .bind(user.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(role_from_row).collect()
    }

    /// A user's role in one organization.
    pub async fn role_in_org(&self, org: OrgId, user: UserId) -> Result<Option<Role>, DbError> {
        let row = sqlx::query("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org.0)
            .bind(user.0)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(role_from_row).transpose()
    }

    /// Changes an organization's display name. Returns the updated row.
    pub async fn update_org(&self, org: OrgId, display_name: Option<&str>) -> Result<Option<Org>, DbError> {
        let sql =
            format!("UPDATE organizations SET display_name = $1, updated_at = $2 WHERE id = $3 RETURNING {RETURNING}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(display_name)
            .bind(Timestamp::now().as_millis())
            .bind(org.0)
            .fetch_optional(self.writes())
            .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    /// Records an organization's approval by `by` now (`Some`), or withdraws it
    /// (`None`). Returns the organization as it is now.
    pub async fn set_org_approval(&self, org: OrgId, by: Option<&str>) -> Result<Option<Org>, DbError> {
        let now = Timestamp::now().as_millis();
        let sql = format!(
            "UPDATE organizations SET approved_at = $1, approved_by = $2, updated_at = $3 WHERE id = $4 RETURNING {RETURNING}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(by.map(|_| now))
            .bind(by)
            .bind(now)
            .bind(org.0)
            .fetch_optional(self.writes())
            .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    /// Deletes an organization and its memberships. Returns whether it existed.
    /// Its catalog entries (and tenancies) go with it: nodes reload their catalog index.
    pub async fn delete_org(&self, org: OrgId) -> Result<bool, DbError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM organizations WHERE id = $1").bind(org.0).execute(&mut *tx).await?;
        sqlx::query("UPDATE catalog_state SET seq = seq + 1, epoch = epoch + 1 WHERE id = 1").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// One member of an organization.
    pub async fn member(&self, org: OrgId, user: UserId) -> Result<Option<Member>, DbError> {
        let row = sqlx::query(
            "SELECT u.id, u.name, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 AND m.user_id = $2",
        )
        .bind(org.0)
        .bind(user.0)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(member_from_row).transpose()
    }

    /// Members of an organization ordered by user name, after `after`, at most `limit`.
    pub async fn list_members(&self, org: OrgId, after: Option<&str>, limit: u32) -> Result<Vec<Member>, DbError> {
        let rows = sqlx::query(
            "SELECT u.id, u.name, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 AND u.name > $2 ORDER BY u.name LIMIT $3",
        )
        .bind(org.0)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(member_from_row).collect()
    }

    /// Adds a member or changes their role. Refuses ([`DbError::LastOwner`]) to
    /// demote the last owner. Returns the previous role, if any.
    pub async fn set_membership(&self, org: OrgId, user: UserId, role: Role) -> Result<Option<Role>, DbError> {
        let mut tx = self.begin_write().await?;
        let previous = lock_and_check_owners(self.backend(), &mut tx, org, user, role != Role::Owner).await?;
        sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(org.0)
        .bind(user.0)
        .bind(role.as_str())
        .bind(Timestamp::now().as_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(previous)
    }

    /// Removes a member. Refuses ([`DbError::LastOwner`]) to remove the last owner.
    /// Returns the removed role, or `None` when the user was not a member.
    pub async fn remove_membership(&self, org: OrgId, user: UserId) -> Result<Option<Role>, DbError> {
        let mut tx = self.begin_write().await?;
        let previous = lock_and_check_owners(self.backend(), &mut tx, org, user, true).await?;
        sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(previous)
    }
}

/// Serialises membership changes of one organization and enforces "at least one
/// owner". On PostgreSQL the organization row is locked (`FOR UPDATE`) so two
/// concurrent demotions cannot each see the other owner; SQLite's `BEGIN IMMEDIATE`
/// already holds the database write lock. Returns the user's current role.
async fn lock_and_check_owners(
    backend: Backend,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    org: OrgId,
    user: UserId,
    losing_owner: bool,
) -> Result<Option<Role>, DbError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE").bind(org.0).execute(&mut **tx).await?;
    }
    let current = sqlx::query("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org.0)
        .bind(user.0)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(role_from_row)
        .transpose()?;
    if losing_owner && current == Some(Role::Owner) {
        let owners: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'")
            .bind(org.0)
            .fetch_one(&mut **tx)
            .await?;
        if owners <= 1 {
            return Err(DbError::LastOwner);
        }
    }
    Ok(current)
}
