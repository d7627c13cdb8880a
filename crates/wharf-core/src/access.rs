//! Organization kinds, membership roles and the permission matrix.
//!
//! Every permission decision in Wharf goes through [`org_permits`] or
//! [`platform_permits`]; the matrix in `docs/permissions.md` is rendered from these
//! functions by [`permission_matrix_markdown`] and a test keeps the two identical.

/// What an organization is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// A software vendor: owns repositories and (later) offers.
    Publisher,
    /// A customer tenant: subscribes to plans and pulls what it is entitled to.
    Customer,
    /// Runs the marketplace: its owners and admins administer the whole platform.
    Operator,
}

impl OrgKind {
    /// All kinds, in documentation order.
    pub const ALL: [OrgKind; 3] = [OrgKind::Publisher, OrgKind::Customer, OrgKind::Operator];

    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Publisher => "publisher",
            OrgKind::Customer => "customer",
            OrgKind::Operator => "operator",
        }
    }

    /// Whether organizations of this kind own registry repositories.
    pub fn owns_repositories(self) -> bool {
        matches!(self, OrgKind::Publisher | OrgKind::Operator)
    }
}

/// A member's role in an organization, from least to most privileged.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads the organization and pulls its images.
    Viewer,
    /// Also pushes images.
    Developer,
    /// Also deletes images, edits the organization and manages non-owner members.
    Admin,
    /// Everything, including owners and deleting the organization.
    Owner,
}

impl Role {
    /// All roles, least privileged first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Developer, Role::Admin, Role::Owner];

    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Developer => "developer",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

str_enum_impls!(OrgKind, "organization kind");
str_enum_impls!(Role, "role");

/// Something a member may do inside one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrgAction {
    /// See the organization and its settings.
    Read,
    /// List members and their roles.
    ReadMembers,
    /// Pull images from the organization's repositories.
    Pull,
    /// Push images (publisher and operator organizations only).
    Push,
    /// Delete images, tags and repositories.
    DeleteArtifacts,
    /// See the organization's offers, their drafts, versions and history.
    ReadOffers,
    /// Create offers, edit drafts, upload listing media.
    EditOffers,
    /// Submit, cancel, stop-sell and resume offers and plans.
    PublishOffers,
    /// See the organization's subscriptions, entitlements, usage and pull secrets
    /// (customer organizations only).
    ReadSubscriptions,
    /// Subscribe to access offers and plans, accepting their terms; cancel; issue
    /// pull secrets (customer organizations only).
    Subscribe,
    /// Change the organization's settings.
    Update,
    /// Add, remove and change members below owner.
    ManageMembers,
    /// Grant and revoke the owner role.
    ManageOwners,
    /// Delete the organization.
    Delete,
}

impl OrgAction {
    /// All actions, in documentation order.
    pub const ALL: [OrgAction; 14] = [
        OrgAction::Read,
        OrgAction::ReadMembers,
        OrgAction::Pull,
        OrgAction::Push,
        OrgAction::DeleteArtifacts,
        OrgAction::ReadOffers,
        OrgAction::EditOffers,
        OrgAction::PublishOffers,
        OrgAction::ReadSubscriptions,
        OrgAction::Subscribe,
        OrgAction::Update,
        OrgAction::ManageMembers,
        OrgAction::ManageOwners,
        OrgAction::Delete,
    ];

    fn describe(self) -> &'static str {
        match self {
            OrgAction::Read => "see the organization",
            OrgAction::ReadMembers => "list members and roles",
            OrgAction::Pull => "pull images (`registry:pull`)",
            OrgAction::Push => "push images (`registry:push`)",
            OrgAction::DeleteArtifacts => "delete images and tags (`registry:delete`)",
            OrgAction::ReadOffers => "see offers, drafts, versions and history",
            OrgAction::EditOffers => "create offers, edit drafts, upload listing media",
            OrgAction::PublishOffers => "submit, cancel, stop-sell and resume offers",
            OrgAction::ReadSubscriptions => "see subscriptions, entitlements, usage and pull secrets",
            OrgAction::Subscribe => "subscribe (accepting terms), cancel, issue pull secrets",
            OrgAction::Update => "change organization settings",
            OrgAction::ManageMembers => "add, remove and re-role members below owner",
            OrgAction::ManageOwners => "grant and revoke owner",
            OrgAction::Delete => "delete the organization",
        }
    }

    /// The least privileged role that may perform the action.
    fn minimum_role(self) -> Role {
        match self {
            OrgAction::Read
            | OrgAction::ReadMembers
            | OrgAction::Pull
            | OrgAction::ReadOffers
            | OrgAction::ReadSubscriptions => Role::Viewer,
            OrgAction::Push | OrgAction::EditOffers => Role::Developer,
            OrgAction::DeleteArtifacts
            | OrgAction::Update
            | OrgAction::ManageMembers
            | OrgAction::PublishOffers
            | OrgAction::Subscribe => Role::Admin,
            OrgAction::ManageOwners | OrgAction::Delete => Role::Owner,
        }
    }

    fn publishers_only(self) -> bool {
        matches!(
            self,
            OrgAction::Push
                | OrgAction::DeleteArtifacts
                | OrgAction::ReadOffers
                | OrgAction::EditOffers
                | OrgAction::PublishOffers
        )
    }

    fn customers_only(self) -> bool {
        matches!(self, OrgAction::ReadSubscriptions | OrgAction::Subscribe)
    }
}

/// Whether a member with `role` in an organization of `kind` may perform `action` there.
pub fn org_permits(kind: OrgKind, role: Role, action: OrgAction) -> bool {
    if action.publishers_only() && !kind.owns_repositories() {
        return false;
    }
    if action.customers_only() && kind != OrgKind::Customer {
        return false;
    }
    role >= action.minimum_role()
}

/// Something that concerns the whole platform rather than one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlatformAction {
    /// List every user and organization, read any organization, pull any image,
    /// list the registry catalog.
    ReadAll,
    /// Create users, reset passwords, disable accounts.
    ManageUsers,
    /// Create organizations of any kind and act as an owner in every organization.
    ManageOrgs,
    /// Define access offers, their plans and quotas; read every organization's usage.
    ManageAccess,
}

impl PlatformAction {
    /// All platform actions, in documentation order.
    pub const ALL: [PlatformAction; 4] = [
        PlatformAction::ReadAll,
        PlatformAction::ManageUsers,
        PlatformAction::ManageOrgs,
        PlatformAction::ManageAccess,
    ];

    fn describe(self) -> &'static str {
        match self {
            PlatformAction::ReadAll => {
                "list all users and organizations, read and pull from any organization, list the registry catalog"
            }
            PlatformAction::ManageUsers => "create users, reset passwords, disable accounts",
            PlatformAction::ManageOrgs => "create organizations of any kind; act as owner in every organization",
            PlatformAction::ManageAccess => "define access offers, plans and quotas; read usage per organization",
        }
    }
}

/// Whether a member with `role` in an **operator** organization may perform `action`.
///
/// Membership in publisher or customer organizations never grants platform actions.
pub fn platform_permits(role: Role, action: PlatformAction) -> bool {
    match action {
        PlatformAction::ReadAll => true,
        PlatformAction::ManageUsers | PlatformAction::ManageOrgs | PlatformAction::ManageAccess => role >= Role::Admin,
    }
}

/// What a platform action grants inside any organization.
pub fn platform_grants_org_action(platform: PlatformAction, kind: OrgKind, action: OrgAction) -> bool {
    match platform {
        PlatformAction::ReadAll => {
            matches!(
                action,
                OrgAction::Read
                    | OrgAction::ReadMembers
                    | OrgAction::Pull
                    | OrgAction::ReadOffers
                    | OrgAction::ReadSubscriptions
            )
        }
        PlatformAction::ManageOrgs => org_permits(kind, Role::Owner, action),
        PlatformAction::ManageUsers | PlatformAction::ManageAccess => false,
    }
}

/// The permission matrix as Markdown, rendered from the functions above.
pub fn permission_matrix_markdown() -> String {
    let mut out = String::new();
    out.push_str("### In an organization\n\n| action | ");
    out.push_str(&Role::ALL.map(|r| r.as_str()).join(" | "));
    out.push_str(" |\n|---|");
    out.push_str(&"---|".repeat(Role::ALL.len()));
    out.push('\n');
    for action in OrgAction::ALL {
        out.push_str(&format!("| {} |", action.describe()));
        for role in Role::ALL {
            let publisher = org_permits(OrgKind::Publisher, role, action);
            let customer = org_permits(OrgKind::Customer, role, action);
            let cell = match (publisher, customer) {
                (true, true) => "yes",
                (true, false) => "yes (not in customer organizations)",
                (false, true) => "yes (customer organizations only)",
                (false, false) => "no",
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out.push_str("\n### On the platform (members of an operator organization)\n\n| action | ");
    out.push_str(&Role::ALL.map(|r| r.as_str()).join(" | "));
    out.push_str(" |\n|---|");
    out.push_str(&"---|".repeat(Role::ALL.len()));
    out.push('\n');
    for action in PlatformAction::ALL {
        out.push_str(&format!("| {} |", action.describe()));
        for role in Role::ALL {
            out.push_str(if platform_permits(role, action) { " yes |" } else { " no |" });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse() {
        assert!(Role::Viewer < Role::Developer && Role::Developer < Role::Admin && Role::Admin < Role::Owner);
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert_eq!(
            "root".parse::<Role>().unwrap_err(),
            "unknown role \"root\": expected one of viewer, developer, admin, owner"
        );
        assert_eq!("customer".parse::<OrgKind>(), Ok(OrgKind::Customer));
    }

    #[test]
    fn key_cells_of_the_matrix() {
        use OrgAction::*;
        let p = OrgKind::Publisher;
        assert!(org_permits(p, Role::Viewer, Pull));
        assert!(!org_permits(p, Role::Viewer, Push));
        assert!(org_permits(p, Role::Developer, Push));
        assert!(!org_permits(p, Role::Developer, DeleteArtifacts));
        assert!(org_permits(p, Role::Admin, ManageMembers));
        assert!(!org_permits(p, Role::Admin, ManageOwners));
        assert!(org_permits(p, Role::Owner, Delete));
        assert!(!org_permits(OrgKind::Customer, Role::Owner, Push), "customers own no repositories");
        assert!(!platform_permits(Role::Developer, PlatformAction::ManageUsers));
        assert!(platform_permits(Role::Admin, PlatformAction::ManageOrgs));
        assert!(!platform_grants_org_action(PlatformAction::ReadAll, p, Push));
        assert!(platform_grants_org_action(PlatformAction::ManageOrgs, p, ManageOwners));
        assert!(!platform_grants_org_action(PlatformAction::ManageOrgs, OrgKind::Customer, Push));
    }
}

#[cfg(test)]
mod doc_tests {
    /// `docs/permissions.md` shows the matrix these functions implement.
    #[test]
    fn documented_matrix_matches_the_code() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/permissions.md"))
            .expect("docs/permissions.md");
        let generated = super::permission_matrix_markdown();
        assert!(
            doc.contains(&generated),
            "docs/permissions.md is out of date; replace its matrix with:\n\n{generated}"
        );
    }
}
