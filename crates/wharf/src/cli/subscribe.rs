//! `wharf access …` (access offers, an organization's access plans and usage),
//! `wharf subscription …` (subscriptions to catalog plans and their pull secrets) and
//! `wharf deploy` (a plan's deployment rendered with your values), as the signed-in
//! user.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use wharf_api_types::{AccessOfferSpec, AccessSubscribeRequest, DeployRequest, SubscribeRequest, SubscriptionView};

use super::account::ServerRef;
use super::{EXIT_FAILED, EXIT_USAGE, Failure, OutputArgs};
use crate::output::{self, Format};

#[derive(Debug, Args)]
pub(super) struct AccessArgs {
    #[command(flatten)]
    server: ServerRef,
    #[command(subcommand)]
    command: AccessCommand,
}

#[derive(Debug, Subcommand)]
enum AccessCommand {
    /// List the access offers you may subscribe to (operators: all, with subscribers).
    List(OutputArgs),
    /// Show one access offer.
    Show {
        /// Its name.
        name: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Create an access offer from a YAML or JSON file, or replace the one of its name
    /// (operators).
    Apply {
        /// The file.
        file: PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete an access offer nobody ever subscribed to (operators).
    Delete {
        /// Its name.
        name: String,
    },
    /// Subscribe an organization to an access plan (its admins).
    Subscribe {
        /// The customer organization.
        org: String,
        /// The access offer.
        access_offer: String,
        /// The plan.
        plan: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// An organization's access subscriptions.
    Subscriptions {
        /// The customer organization.
        org: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Cancel an access subscription (admins).
    Cancel {
        /// The customer organization.
        org: String,
        /// The access subscription's id.
        id: i64,
    },
    /// An organization's use of its quotas.
    Usage {
        /// The customer organization.
        org: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Debug, Args)]
pub(super) struct SubscriptionArgs {
    #[command(flatten)]
    server: ServerRef,
    #[command(subcommand)]
    command: SubscriptionCommand,
}

#[derive(Debug, Subcommand)]
enum SubscriptionCommand {
    /// Subscribe an organization to a plan of a catalog item (its admins), accepting
    /// the item's terms (`wharf catalog show` prints them).
    Create {
        /// The customer organization.
        org: String,
        /// The item, as PUBLISHER/OFFER.
        item: String,
        /// The plan id.
        plan: String,
        /// Accept the item's legal terms (required).
        #[arg(long)]
        accept_terms: bool,
        /// The terms' SHA-256 as read: refused if they changed since.
        #[arg(long)]
        terms_sha256: Option<String>,
        /// Share your name and e-mail address with the publisher.
        #[arg(long)]
        share_contact: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// An organization's subscriptions.
    List {
        /// The customer organization.
        org: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// One subscription, with the repositories it may pull.
    Show {
        /// The customer organization.
        org: String,
        /// The subscription's id.
        id: i64,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Cancel a subscription (admins): new registry tokens are refused at once.
    Cancel {
        /// The customer organization.
        org: String,
        /// The subscription's id.
        id: i64,
    },
    /// Issue a pull secret for a cluster (admins); printed once.
    PullSecret {
        /// The customer organization.
        org: String,
        /// The subscription's id.
        id: i64,
        /// What it is for.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Debug, Args)]
pub(super) struct DeployArgs {
    #[command(flatten)]
    server: ServerRef,
    /// The customer organization.
    org: String,
    /// The subscription's id (`wharf subscription list`).
    subscription: i64,
    /// A parameter's value, NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Values from a YAML or JSON file (a mapping of names to values); --set wins.
    #[arg(long, value_name = "FILE")]
    values: Option<PathBuf>,
    /// A name for the deployment (default: OFFER-, then five random hex digits).
    #[arg(long)]
    name: Option<String>,
    /// Check the values and show the rendering with placeholders; record and issue nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the rendered files into this directory (created if needed).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

fn read_document<T: serde::de::DeserializeOwned>(path: &PathBuf) -> Result<T, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot read {}: {e}", path.display())))?;
    yaml_serde::from_str(&text).map_err(|e| Failure::new(EXIT_FAILED, format!("{}: {e}", path.display())))
}

pub(super) async fn access(args: AccessArgs) -> Result<(), Failure> {
    let client = super::client::connect(args.server.server.as_deref())?;
    match args.command {
        AccessCommand::List(o) => {
            let offers = client.access_offers().await?;
            output::rows(o.output, &offers, &["name", "display name", "visibility", "plans"], |a| {
                let plans: Vec<String> = a.spec.plans.iter().map(|p| format!("{} ({})", p.name, p.kind)).collect();
                vec![a.spec.name.clone(), a.spec.display_name.clone(), a.spec.visibility.clone(), plans.join(", ")]
            });
        }
        AccessCommand::Show { name, output: o } => {
            let offer = client.access_offer(&name).await?;
            match o.output {
                Format::Json => output::json(&offer),
                Format::Human => output::text(&yaml_serde::to_string(&offer.spec).unwrap_or_default()),
            }
        }
        AccessCommand::Apply { file, output: o } => {
            let spec: AccessOfferSpec = read_document(&file)?;
            let exists = client.access_offers().await?.iter().any(|a| a.spec.name == spec.name);
            let saved = client.put_access_offer(&spec, exists).await?;
            match o.output {
                Format::Json => output::json(&saved),
                Format::Human => {
                    let n = saved.spec.plans.len();
                    output::line(format!(
                        "{} access offer {} with {n} plan{}",
                        if exists { "replaced" } else { "created" },
                        saved.spec.name,
                        if n == 1 { "" } else { "s" }
                    ));
                }
            }
        }
        AccessCommand::Delete { name } => {
            client.delete_access_offer(&name).await?;
            output::line(format!("deleted access offer {name}"));
        }
        AccessCommand::Subscribe { org, access_offer, plan, output: o } => {
            let sub = client.subscribe_access(&org, &AccessSubscribeRequest { access_offer, plan }).await?;
            match o.output {
                Format::Json => output::json(&sub),
                Format::Human => output::line(format!(
                    "{org} subscribes to access plan {}/{} ({}), access subscription {}",
                    sub.access_offer, sub.plan, sub.kind, sub.id
                )),
            }
        }
        AccessCommand::Subscriptions { org, output: o } => {
            let subs = client.access_subscriptions(&org).await?;
            output::rows(o.output, &subs, &["id", "access offer", "plan", "kind", "status", "since"], |s| {
                vec![
                    s.id.to_string(),
                    s.access_offer.clone(),
                    s.plan.clone(),
                    s.kind.clone(),
                    s.status.clone(),
                    s.created_at.to_string(),
                ]
            });
        }
        AccessCommand::Cancel { org, id } => {
            client.cancel_access(&org, id).await?;
            output::line(format!("cancelled access subscription {id} of {org}"));
        }
        AccessCommand::Usage { org, output: o } => {
            let usage = client.usage(&org).await?;
            match o.output {
                Format::Json => output::json(&usage),
                Format::Human => {
                    let rows: Vec<(String, String, String, u64)> = usage
                        .access
                        .iter()
                        .flat_map(|a| {
                            a.quotas.iter().map(|q| {
                                let limit = q.limit.map_or_else(|| "unlimited".to_owned(), |l| l.to_string());
                                (a.access_offer.clone(), q.quota.clone(), limit, q.used)
                            })
                        })
                        .collect();
                    output::rows(Format::Human, &rows, &["access offer", "quota", "limit", "used"], |r| {
                        vec![r.0.clone(), r.1.clone(), r.2.clone(), r.3.to_string()]
                    });
                }
            }
        }
    }
    Ok(())
}

fn print_subscriptions(subs: &[SubscriptionView], format: Format) {
    output::rows(format, subs, &["id", "item", "plan", "status", "access", "accepted"], |s| {
        vec![
            s.id.to_string(),
            s.offer.clone(),
            s.plan.clone(),
            s.status.clone(),
            s.access.clone(),
            format!("{} by {}", s.terms.accepted_at, s.terms.accepted_by),
        ]
    });
}

pub(super) async fn subscription(args: SubscriptionArgs) -> Result<(), Failure> {
    let client = super::client::connect(args.server.server.as_deref())?;
    match args.command {
        SubscriptionCommand::Create { org, item, plan, accept_terms, terms_sha256, share_contact, output: o } => {
            if !accept_terms {
                return Err(Failure::new(
                    EXIT_USAGE,
                    "subscribing accepts the item's legal terms: read them (`wharf catalog show`) and pass --accept-terms",
                ));
            }
            let request = SubscribeRequest { offer: item, plan, accept_terms, terms_sha256, share_contact };
            let sub = client.subscribe(&org, &request).await?;
            match o.output {
                Format::Json => output::json(&sub),
                Format::Human => {
                    output::line(format!(
                        "subscription {}: {} subscribes to {} plan {}",
                        sub.id, org, sub.offer, sub.plan
                    ));
                    for r in &sub.repositories {
                        output::line(format!("  pull: {r}"));
                    }
                }
            }
        }
        SubscriptionCommand::List { org, output: o } => {
            print_subscriptions(&client.subscriptions(&org).await?, o.output)
        }
        SubscriptionCommand::Show { org, id, output: o } => {
            let sub = client.subscription(&org, id).await?;
            match o.output {
                Format::Json => output::json(&sub),
                Format::Human => {
                    print_subscriptions(std::slice::from_ref(&sub), Format::Human);
                    for r in &sub.repositories {
                        output::line(format!("  pull: {r}"));
                    }
                }
            }
        }
        SubscriptionCommand::Cancel { org, id } => {
            client.cancel_subscription(&org, id).await?;
            output::line(format!("cancelled subscription {id} of {org}: new registry tokens are refused"));
        }
        SubscriptionCommand::PullSecret { org, id, name, output: o } => {
            let created = client.create_pull_secret(&org, id, &name).await?;
            match o.output {
                Format::Json => output::json(&created),
                Format::Human => {
                    output::line(format!("registry: {}", created.registry));
                    output::line(format!("username: {}", created.pull_secret.username));
                    output::line(format!("password: {}", created.password));
                    output::line("(shown once; a Kubernetes Secret holding it is in the JSON output: -o json)");
                }
            }
        }
    }
    Ok(())
}

/// The values of `wharf deploy`: the file's, then each `--set` (as text: the server
/// types it by the parameter).
fn deploy_values(args: &DeployArgs) -> Result<BTreeMap<String, serde_json::Value>, Failure> {
    let mut values: BTreeMap<String, serde_json::Value> = match &args.values {
        Some(path) => read_document(path)?,
        None => BTreeMap::new(),
    };
    for set in &args.set {
        let (name, value) =
            set.split_once('=').ok_or_else(|| Failure::new(EXIT_USAGE, format!("--set {set:?}: write NAME=VALUE")))?;
        values.insert(name.to_owned(), serde_json::Value::String(value.to_owned()));
    }
    Ok(values)
}

pub(super) async fn deploy(args: DeployArgs) -> Result<(), Failure> {
    let client = super::client::connect(args.server.server.as_deref())?;
    let request = DeployRequest { values: deploy_values(&args)?, name: args.name.clone(), dry_run: args.dry_run };
    let view = client.deploy(&args.org, args.subscription, &request).await?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot create {}: {e}", dir.display())))?;
        for f in &view.files {
            let path = dir.join(&f.name);
            std::fs::write(&path, &f.content)
                .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot write {}: {e}", path.display())))?;
        }
    }
    match args.output.output {
        Format::Json => output::json(&view),
        Format::Human => {
            let what = if args.dry_run { "dry run of" } else { "deployment" };
            output::line(format!("# {what} {} ({}, version {})", view.name, view.kind, view.version));
            for name in &view.generated {
                output::line(format!("# generated {name}: {}", view.values[name].as_str().unwrap_or_default()));
            }
            if let (Some(user), Some(password)) = (&view.username, &view.password) {
                output::line(format!("# registry credential: {user} / {password} (shown once)"));
            }
            for f in &view.files {
                match &args.out {
                    Some(dir) => output::line(format!("# wrote {}", dir.join(&f.name).display())),
                    None => {
                        output::line(format!("# --- {} ---", f.name));
                        output::text(&f.content);
                    }
                }
            }
            for c in &view.commands {
                output::line(c);
            }
        }
    }
    Ok(())
}
