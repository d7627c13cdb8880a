//! Offer lifecycle states, version statuses and history events.

use std::fmt;
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal, $label:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value.
            pub const ALL: &[$name] = &[$($name::$variant,)*];

            /// The stored and API form, e.g. `publish_in_progress`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// How people read it, e.g. "Publish in progress".
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)*
                }
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)*
                    other => Err(format!("unknown {} {other:?}", stringify!($name))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Where an offer stands, in the public marketplaces' own words.
    OfferState {
        /// Never submitted.
        Draft => "draft", "Draft";
        /// A submitted version is going through the publishing pipeline.
        PublishInProgress => "publish_in_progress", "Publish in progress";
        /// The pipeline stopped a version; the publisher must act.
        AttentionNeeded => "attention_needed", "Attention needed";
        /// A version waits for the publisher's sign-off, visible to the preview audience.
        Preview => "preview", "Preview";
        /// Listed in the catalog.
        Live => "live", "Live";
        /// Hidden from new customers; existing subscriptions keep working.
        StopSold => "stop_sold", "Stop-sold";
    }
);

string_enum!(
    /// Where one submitted version stands.
    VersionStatus {
        /// Frozen by Submit; prerequisites validated; the pipeline takes it from here.
        Submitted => "submitted", "Submitted";
        /// Cancelled by the publisher before sign-off.
        Cancelled => "cancelled", "Cancelled";
        /// Stopped by the pipeline.
        AttentionNeeded => "attention_needed", "Attention needed";
        /// In preview, waiting for sign-off.
        Preview => "preview", "Preview";
        /// The live version.
        Live => "live", "Live";
        /// Was live; a newer version replaced it.
        Superseded => "superseded", "Superseded";
    }
);

string_enum!(
    /// The steps of the publishing pipeline, in the public marketplace's own words.
    PipelineStep {
        /// Every image of every plan scanned and checked against the policy; the
        /// publisher's eligibility checked.
        Certification => "certification", "Certification";
        /// Images promoted into the marketplace namespace and signed.
        Packaging => "packaging", "Packaging";
        /// In preview: the publisher and the preview audience try it before go-live.
        PublisherSignOff => "publisher_sign_off", "Publisher sign-off";
        /// The publisher's go-live.
        GoLive => "go_live", "Go live";
        /// Everything promoted verified present in every region.
        PackagingForProduction => "packaging_for_production", "Packaging for production";
        /// The offer's live version.
        Live => "live", "Live";
    }
);

string_enum!(
    /// Where a pipeline step stands.
    StepState {
        /// Started, not finished.
        Running => "running", "Running";
        /// Finished well.
        Passed => "passed", "Passed";
        /// Finished with findings the publisher must act on.
        Failed => "failed", "Failed";
    }
);

string_enum!(
    /// What an offer's history records.
    OfferEvent {
        /// The offer was created.
        OfferCreated => "offer_created", "Offer created";
        /// A plan appeared in the draft.
        PlanCreated => "plan_created", "Plan created";
        /// A plan left the draft.
        PlanDeleted => "plan_deleted", "Plan deleted";
        /// A version was submitted.
        Submitted => "submitted", "Submitted";
        /// A submitted version was cancelled.
        Cancelled => "cancelled", "Publish cancelled";
        /// A version passed certification.
        Certified => "certified", "Certified";
        /// The pipeline stopped a version: the publisher must act.
        AttentionNeeded => "attention_needed", "Attention needed";
        /// A version was promoted and signed: in preview for the publisher and its audience.
        InPreview => "in_preview", "In preview";
        /// The publisher signed off a version in preview: it goes live.
        GoLive => "go_live", "Go live";
        /// A version went live.
        WentLive => "went_live", "Went live";
        /// New advisories changed a version's health grade.
        Regraded => "regraded", "Regraded";
        /// The offer was stop-sold.
        StopSold => "stop_sold", "Stop-sell";
        /// The offer sells again.
        Resumed => "resumed", "Resumed";
        /// A plan was stop-sold.
        PlanStopSold => "plan_stop_sold", "Plan stop-sell";
        /// A plan sells again.
        PlanResumed => "plan_resumed", "Plan resumed";
    }
);

/// What a publisher's webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    /// A version passed certification.
    VersionCertified,
    /// The pipeline stopped a version: the publisher must act.
    VersionAttentionNeeded,
    /// A version is in preview, waiting for go-live.
    VersionPreview,
    /// A version went live.
    VersionLive,
    /// New advisories changed a version's findings or grade.
    VersionRegraded,
}

impl WebhookEvent {
    /// Every event type.
    pub const ALL: &[WebhookEvent] = &[
        WebhookEvent::VersionCertified,
        WebhookEvent::VersionAttentionNeeded,
        WebhookEvent::VersionPreview,
        WebhookEvent::VersionLive,
        WebhookEvent::VersionRegraded,
    ];

    /// The event type as messages carry it (`type`), e.g. `version.live`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::VersionCertified => "version.certified",
            WebhookEvent::VersionAttentionNeeded => "version.attention_needed",
            WebhookEvent::VersionPreview => "version.preview",
            WebhookEvent::VersionLive => "version.live",
            WebhookEvent::VersionRegraded => "version.regraded",
        }
    }
}

impl FromStr for WebhookEvent {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WebhookEvent::ALL.iter().copied().find(|e| e.as_str() == s).ok_or_else(|| {
            let all: Vec<&str> = WebhookEvent::ALL.iter().map(|e| e.as_str()).collect();
            format!("unknown event type {s:?}; the event types are {}", all.join(", "))
        })
    }
}

impl fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for s in OfferState::ALL {
            assert_eq!(s.as_str().parse::<OfferState>().unwrap(), *s);
        }
        for s in VersionStatus::ALL {
            assert_eq!(s.as_str().parse::<VersionStatus>().unwrap(), *s);
        }
        for s in OfferEvent::ALL {
            assert_eq!(s.as_str().parse::<OfferEvent>().unwrap(), *s);
        }
        assert_eq!(OfferState::PublishInProgress.label(), "Publish in progress");
        assert!("nope".parse::<OfferState>().is_err());
    }
}

/// The longest offer or plan id, in characters.
pub const MAX_ID_LEN: usize = 50;

fn check_id(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    let len = s.chars().count();
    if len > MAX_ID_LEN {
        return Err(format!("must be at most {MAX_ID_LEN} characters long (got {len})"));
    }
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_')) {
        return Err(format!("may contain only lowercase letters a-z, digits, '-' and '_' (found {c:?})"));
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must start with a letter or digit".into());
    }
    Ok(())
}

text_newtype!(
    /// An offer id: lowercase letters, digits, `-` and `_`, at most 50 characters,
    /// starting with a letter or digit. Unique within its publisher; never changes.
    OfferId,
    String,
    check_id
);
text_newtype!(
    /// A plan id: the same rule as [`OfferId`], unique within its offer.
    PlanId,
    String,
    check_id
);
