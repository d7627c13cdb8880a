//! Typed database ids, so a user id can never be passed where an organization id is meant.

macro_rules! decl_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
            utoipa::ToSchema,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

decl_id!(
    /// A user's id.
    UserId
);
decl_id!(
    /// An organization's id.
    OrgId
);
decl_id!(
    /// An API token's id (public: shown in listings and used to revoke).
    TokenId
);
decl_id!(
    /// A registry repository's id.
    RepositoryId
);
decl_id!(
    /// An offer's database key (its public name is its publisher and `OfferId`).
    OfferKey
);
decl_id!(
    /// A durable job's id.
    JobId
);
