//! `wharf advisories import|status|vex`: the offline advisory store `wharf certify`
//! checks packages against, and the policy's exceptions as OpenVEX.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use wharf_certify::advisories::Store;
use wharf_certify::policy::Policy;

use super::{EXIT_CONFIG, EXIT_FAILED, Failure};
use crate::output;

/// Where the advisory store is.
#[derive(Debug, Clone, Args)]
pub struct StoreArg {
    /// The advisory store directory. Default: `wharf/advisories` in the user's data
    /// directory (`~/.local/share` on Linux).
    #[arg(long = "advisories", value_name = "DIR", env = "WHARF_ADVISORIES", global = true)]
    pub dir: Option<PathBuf>,
}

impl StoreArg {
    /// The directory to use.
    pub fn resolve(&self) -> Result<PathBuf, Failure> {
        match &self.dir {
            Some(d) => Ok(d.clone()),
            None => dirs::data_dir().map(|d| d.join("wharf").join("advisories")).ok_or_else(|| {
                Failure::new(EXIT_CONFIG, "cannot find a data directory (is HOME set?); pass --advisories DIR")
            }),
        }
    }

    /// The store, if something was imported; a damaged store is an error.
    pub fn open(&self) -> Result<Option<Store>, Failure> {
        let dir = self.resolve()?;
        Store::open(&dir).map_err(|e| Failure::new(EXIT_FAILED, e.to_string()))
    }
}

/// Arguments of `wharf advisories`.
#[derive(Debug, Args)]
pub struct AdvisoriesArgs {
    #[command(flatten)]
    store: StoreArg,
    #[command(subcommand)]
    command: AdvisoriesCommand,
}

#[derive(Debug, Subcommand)]
enum AdvisoriesCommand {
    /// Import OSV advisories from a directory (searched recursively for *.json) or a
    /// ZIP archive (osv.dev's per-ecosystem all.zip). Advisories with the same id are
    /// replaced; the import's snapshot date and counts are recorded.
    Import {
        /// The directory or ZIP archive.
        source: PathBuf,
    },
    /// Show what the store holds: each import with its snapshot date and counts.
    Status,
    /// Write the policy's exceptions still in force as an OpenVEX document.
    Vex {
        /// The policy file whose exceptions to export.
        #[arg(long, value_name = "FILE")]
        policy: PathBuf,
        /// The document's author.
        #[arg(long, default_value = "wharf")]
        author: String,
    },
}

pub(super) fn load_policy(path: &Path) -> Result<Policy, Failure> {
    Policy::load(path).map_err(|e| Failure::new(EXIT_CONFIG, e))
}

/// Runs `wharf advisories`.
pub fn run(args: AdvisoriesArgs) -> Result<(), Failure> {
    match args.command {
        AdvisoriesCommand::Import { source } => {
            let dir = args.store.resolve()?;
            let out = Store::import(&dir, &source).map_err(|e| Failure::new(EXIT_FAILED, e.to_string()))?;
            for (file, why) in &out.rejected {
                output::warn(&format!("skipped {file}: {why}"));
            }
            let i = &out.import;
            let mut text = format!(
                "imported {} advisories from {} (snapshot {}; {} withdrawn skipped, {} invalid)\n",
                i.advisories, i.source, i.snapshot, i.withdrawn, i.invalid
            );
            for (ecosystem, n) in &i.by_ecosystem {
                text.push_str(&format!("  {ecosystem}: {n}\n"));
            }
            text.push_str(&format!("the store {} now holds {} advisories", dir.display(), out.total));
            output::text(&text);
            Ok(())
        }
        AdvisoriesCommand::Status => {
            let dir = args.store.resolve()?;
            let Some(store) = args.store.open()? else {
                return Err(Failure::new(
                    EXIT_FAILED,
                    format!("no advisories imported in {} yet: run `wharf advisories import DIR|ZIP`", dir.display()),
                ));
            };
            let mut text = format!("{}: {} advisories\n", dir.display(), store.advisories.len());
            for i in &store.imports {
                text.push_str(&format!(
                    "  {} from {}: {} advisories, snapshot {}\n",
                    i.imported_at, i.source, i.advisories, i.snapshot
                ));
            }
            let mut ecosystems: Vec<_> = store.ecosystems().iter().collect();
            ecosystems.sort();
            for (e, n) in ecosystems {
                text.push_str(&format!("  {e}: {n} affected package entries\n"));
            }
            output::text(text.trim_end());
            Ok(())
        }
        AdvisoriesCommand::Vex { policy, author } => {
            let policy = load_policy(&policy)?;
            let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
            output::json(&wharf_certify::vulns::openvex(&policy.exceptions, &author, &now[..10], &now));
            Ok(())
        }
    }
}
