//! The rules an offer document must follow, checked in one pass that reports every
//! problem with its path. The server applies them when a draft is saved (format
//! rules) and when it is submitted (format and completeness); `wharf offer validate`
//! applies the same functions offline.
//!
//! What needs the server's data (repositories and tags, tenants, uploaded media,
//! earlier versions) is checked by the caller from the lists [`media_refs`] and
//! [`ImageRefs`] give, or by the functions of [`crate::versions`].

mod plans;

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use wharf_core::OrgName;
use wharf_oci::RepositoryName;

use crate::ids::{Locale, OfferId, PlanId, VersionTag};
use crate::media::ImageSlot;
use crate::problem::{FieldPath, Problems};
use crate::spec::{Deployment, Legal, Listing, OfferSpec, Parameter, Plan, Pricing};
use crate::text;

/// Most tags one plan may deliver, over all its images.
pub const MAX_TAGS_PER_PLAN: usize = 16;
/// Most tenants in a preview audience.
pub const MAX_PREVIEW_AUDIENCE: usize = 100;
/// Most tenants a private plan may list.
pub const MAX_PLAN_AUDIENCE: usize = 1000;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 5_000;
/// Most screenshots.
pub const MAX_SCREENSHOTS: usize = 5;
/// Most videos.
pub const MAX_VIDEOS: usize = 4;
/// Longest deployment template, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 256 * 1024;

/// Which rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Saving a draft: every value present must be well-formed; anything may be missing.
    Draft,
    /// Submitting: the draft rules, and every required field present.
    Submit,
}

/// What the rules need to know about the marketplace.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// The operator's category taxonomy; `None` skips the check (offline validation
    /// that cannot reach the server).
    pub categories: Option<&'a [String]>,
    /// Whether media may be named by a path relative to the offer file (the file on
    /// disk) or only by digest (a draft stored on the server).
    pub media_paths_allowed: bool,
}

/// Checks `spec` against every rule of `stage`.
pub fn check(spec: &OfferSpec, ctx: &Context<'_>, stage: Stage) -> Problems {
    let mut c = Checker { p: Problems::new(), submit: stage == Stage::Submit, ctx };
    c.offer(spec);
    c.p
}

struct Checker<'a> {
    p: Problems,
    submit: bool,
    ctx: &'a Context<'a>,
}

static PARAMETER_NAME: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new("^[a-z][a-z0-9_]{0,63}$").expect("valid regex"));
static PLACEHOLDER: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"\$?\$\{([^}]*)\}").expect("valid regex"));
static DIGEST: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new("^sha256:[0-9a-f]{64}$").expect("valid regex"));

impl Checker<'_> {
    fn required<T>(&mut self, v: &Option<T>, path: &FieldPath) -> bool {
        if v.is_none() && self.submit {
            self.p.error(path, "is required");
        }
        v.is_some()
    }

    fn rule(&mut self, path: &FieldPath, r: Result<(), String>) {
        if let Err(e) = r {
            self.p.error(path, e);
        }
    }

    fn most<T>(&mut self, list: &[T], max: usize, path: &FieldPath, what: &str) {
        if list.len() > max {
            self.p.error(path, format!("may list at most {max} {what} (lists {})", list.len()));
        }
    }

    /// Duplicates in a list of optional strings, compared by `key`; each reported at
    /// `at(index)`.
    fn unique<'s>(
        &mut self,
        items: impl Iterator<Item = Option<&'s str>>,
        at: impl Fn(usize) -> FieldPath,
        key: fn(&str) -> String,
    ) {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (i, s) in items.enumerate() {
            let Some(s) = s else { continue };
            if let Some(first) = seen.get(&key(s)) {
                self.p.error(&at(i), format!("repeats {s:?} (already at index {first})"));
            } else {
                seen.insert(key(s), i);
            }
        }
    }

    fn offer(&mut self, spec: &OfferSpec) {
        let root = FieldPath::root();
        let path = root.key("id");
        if self.required(&spec.id, &path)
            && let Some(id) = &spec.id
        {
            self.rule(&path, id.parse::<OfferId>().map(drop));
        }
        let path = root.key("publisher");
        if self.required(&spec.publisher, &path)
            && let Some(p) = &spec.publisher
        {
            self.rule(&path, p.parse::<OrgName>().map(drop).map_err(|e| e.to_string()));
        }
        let path = root.key("default_locale");
        if self.required(&spec.default_locale, &path)
            && let Some(l) = &spec.default_locale
        {
            match l.parse::<Locale>() {
                Err(e) => self.p.error(&path, e),
                Ok(_) if !spec.listings.contains_key(l) => {
                    self.p.error(&path, format!("names locale {l:?}, which has no entry in listings"))
                }
                Ok(_) => {}
            }
        }
        let path = root.key("listings");
        if spec.listings.is_empty() && self.submit {
            self.p.error(&path, "needs a listing in at least the default locale");
        }
        for (locale, listing) in &spec.listings {
            let here = path.key(locale.clone());
            if let Err(e) = locale.parse::<Locale>() {
                self.p.error(&here, format!("key {e}"));
            }
            self.listing(listing, &here);
        }
        self.media(spec, &root.key("media"));
        let path = root.key("legal");
        if self.required(&spec.legal, &path)
            && let Some(legal) = &spec.legal
        {
            self.legal(legal, &path);
        }
        let path = root.key("plans");
        if spec.plans.is_empty() && self.submit {
            self.p.error(&path, "needs at least one plan");
        }
        for (i, plan) in spec.plans.iter().enumerate() {
            self.plan(plan, spec.publisher.as_deref(), &path.index(i));
        }
        let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, plan) in spec.plans.iter().enumerate() {
            let Some(id) = plan.id.as_deref() else { continue };
            match ids.get(id) {
                Some(first) => {
                    self.p.error(&path.index(i).key("id"), format!("repeats plan id {id:?} (already plans[{first}])"))
                }
                None => {
                    ids.insert(id, i);
                }
            }
        }
        let path = root.key("preview_audience");
        self.most(&spec.preview_audience, MAX_PREVIEW_AUDIENCE, &path, "tenants");
        self.tenants(&spec.preview_audience, &path);
        if let Some(lead) = &spec.lead_destination {
            let path = root.key("lead_destination");
            let url = path.key("url");
            if self.required(&lead.url, &url)
                && let Some(u) = &lead.url
            {
                self.rule(&url, text::web_url(u, false));
            }
            let secret = path.key("secret");
            match &lead.secret {
                Some(s) => {
                    let n = text::chars(s);
                    if !(16..=256).contains(&n) || s.chars().any(char::is_control) {
                        self.p.error(
                            &secret,
                            format!("must be 16 to 256 characters without control characters (got {n})"),
                        );
                    }
                }
                None if lead.secret_sha256.is_none() && self.submit => self.p.error(&secret, "is required"),
                None => {}
            }
        }
        if let Some(n) = &spec.certification_notes {
            self.rule(&root.key("certification_notes"), text::multi_line(n, 5_000));
        }
    }

    fn tenants(&mut self, list: &[String], path: &FieldPath) {
        for (i, t) in list.iter().enumerate() {
            if let Err(e) = t.parse::<OrgName>() {
                self.p.error(&path.index(i), format!("is not an organization name: {e}"));
            }
        }
        self.unique(list.iter().map(|s| Some(s.as_str())), |i| path.index(i), str::to_owned);
    }

    fn listing(&mut self, l: &Listing, path: &FieldPath) {
        let p = path.key("name");
        if self.required(&l.name, &p)
            && let Some(name) = &l.name
        {
            self.rule(&p, text::one_line(name, 200));
            if let Some(c) = name.chars().find(|c| text::is_emoji(*c)) {
                self.p.error(&p, format!("must not contain emoji or symbols other than ™ and © (found {c:?})"));
            }
        }
        let p = path.key("summary");
        if self.required(&l.summary, &p)
            && let Some(s) = &l.summary
        {
            let r = text::one_line(s, 100).and_then(|()| text::one_sentence(s));
            self.rule(&p, r);
        }
        let p = path.key("short_description");
        if self.required(&l.short_description, &p)
            && let Some(s) = &l.short_description
        {
            self.rule(&p, text::multi_line(s, 256));
            if s.contains('<')
                && s.split('<').skip(1).any(|t| t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/'))
            {
                self.p.error(&p, "must be plain text, without HTML");
            }
        }
        let p = path.key("description");
        if self.required(&l.description, &p)
            && let Some(d) = &l.description
        {
            self.rule(&p, text::multi_line(d, MAX_DESCRIPTION));
            if text::removed_by_sanitizer(d) {
                self.p.warning(
                    &p,
                    "contains HTML or links that are not allowed (scripts, frames, styles, event handlers, \
                     javascript: or data: links, images); they are removed when the listing is shown",
                );
            }
        }
        let p = path.key("keywords");
        self.most(&l.keywords, 10, &p, "keywords");
        for (i, k) in l.keywords.iter().enumerate() {
            self.rule(&p.index(i), text::one_line(k, 50));
        }
        self.unique(l.keywords.iter().map(|s| Some(s.as_str())), |i| p.index(i), str::to_lowercase);
        let p = path.key("categories");
        if l.categories.is_empty() && self.submit {
            self.p.error(&p, "needs 1 to 3 categories");
        }
        self.most(&l.categories, 3, &p, "categories");
        for (i, c) in l.categories.iter().enumerate() {
            if let Some(taxonomy) = self.ctx.categories
                && !taxonomy.iter().any(|t| t == c)
            {
                self.p.error(
                    &p.index(i),
                    format!("{c:?} is not a category of this marketplace (known: {})", taxonomy.join(", ")),
                );
            }
        }
        self.unique(l.categories.iter().map(|s| Some(s.as_str())), |i| p.index(i), str::to_owned);
        let p = path.key("useful_links");
        self.most(&l.useful_links, 10, &p, "links");
        for (i, link) in l.useful_links.iter().enumerate() {
            let here = p.index(i);
            let t = here.key("title");
            match &link.title {
                Some(title) => self.rule(&t, text::one_line(title, 64)),
                None => self.p.error(&t, "is required"),
            }
            let u = here.key("url");
            match &link.url {
                Some(url) => self.rule(&u, text::web_url(url, true)),
                None => self.p.error(&u, "is required"),
            }
        }
        let p = path.key("privacy_policy_url");
        if self.required(&l.privacy_policy_url, &p)
            && let Some(u) = &l.privacy_policy_url
        {
            self.rule(&p, text::web_url(u, false));
        }
        let p = path.key("support");
        if self.required(&l.support, &p)
            && let Some(s) = &l.support
        {
            self.contact(&s.name, &s.email, &s.phone, &p);
            let u = p.key("url");
            if self.required(&s.url, &u)
                && let Some(url) = &s.url
            {
                self.rule(&u, text::web_url(url, false));
            }
        }
        let p = path.key("engineering");
        if self.required(&l.engineering, &p)
            && let Some(e) = &l.engineering
        {
            self.contact(&e.name, &e.email, &e.phone, &p);
        }
    }

    fn contact(&mut self, name: &Option<String>, email: &Option<String>, phone: &Option<String>, path: &FieldPath) {
        let p = path.key("name");
        if self.required(name, &p)
            && let Some(n) = name
        {
            self.rule(&p, text::one_line(n, 100));
        }
        let p = path.key("email");
        if self.required(email, &p)
            && let Some(e) = email
        {
            self.rule(&p, text::email(e));
        }
        if let Some(ph) = phone {
            self.rule(&path.key("phone"), text::phone(ph));
        }
    }

    fn media_ref(&mut self, r: &str, path: &FieldPath) {
        if DIGEST.is_match(r) {
            return;
        }
        if !self.ctx.media_paths_allowed {
            self.p.error(
                path,
                "must name uploaded media by digest (sha256:…); upload files first (wharf offer apply does)",
            );
            return;
        }
        let bad = r.is_empty()
            || r.len() > 255
            || r.starts_with('/')
            || r.contains('\\')
            || r.contains(':')
            || r.split('/').any(|s| s == ".." || s.is_empty());
        if bad {
            self.p.error(
                path,
                "must be a relative path inside the offer's directory (no '..', no absolute path) or a sha256: digest",
            );
        }
    }

    fn media(&mut self, spec: &OfferSpec, path: &FieldPath) {
        let icons = path.key("icons");
        for (name, slot) in spec.media.icons.slots() {
            let p = icons.key(name);
            match slot {
                Some(r) => self.media_ref(r, &p),
                None if self.submit => {
                    let (w, h) = ImageSlot::icon(name).map(ImageSlot::size).unwrap_or_default();
                    self.p.error(&p, format!("is required (a {w}×{h} PNG or JPEG)"));
                }
                None => {}
            }
        }
        let p = path.key("screenshots");
        self.most(&spec.media.screenshots, MAX_SCREENSHOTS, &p, "screenshots");
        for (i, s) in spec.media.screenshots.iter().enumerate() {
            let here = p.index(i);
            match &s.image {
                Some(r) => self.media_ref(r, &here.key("image")),
                None => self.p.error(&here.key("image"), "is required"),
            }
            match &s.caption {
                Some(c) => self.rule(&here.key("caption"), text::one_line(c, 100)),
                None => self.p.error(&here.key("caption"), "is required"),
            }
        }
        let p = path.key("videos");
        self.most(&spec.media.videos, MAX_VIDEOS, &p, "videos");
        for (i, v) in spec.media.videos.iter().enumerate() {
            let here = p.index(i);
            match &v.title {
                Some(t) => self.rule(&here.key("title"), text::one_line(t, 100)),
                None => self.p.error(&here.key("title"), "is required"),
            }
            match &v.url {
                Some(u) => self.rule(&here.key("url"), text::web_url(u, false)),
                None => self.p.error(&here.key("url"), "is required"),
            }
        }
    }

    fn legal(&mut self, legal: &Legal, path: &FieldPath) {
        let p = path.key("contract");
        let terms = path.key("terms");
        match legal.contract.as_deref() {
            None => {
                if self.submit {
                    self.p.error(&p, "is required: standard or custom");
                }
            }
            Some("standard") => {
                if legal.terms.is_some() {
                    self.p.error(&terms, "is not used with the standard contract; remove it or set contract: custom");
                }
            }
            Some("custom") => match &legal.terms {
                Some(t) => self.rule(&terms, text::multi_line(t, 50_000)),
                None => self.p.error(&terms, "is required with contract: custom"),
            },
            Some(other) => self.p.error(&p, format!("must be standard or custom (got {other:?})")),
        }
    }
}

/// Every image reference of a document, with its path and slot: what a caller checks
/// against files (the CLI) or uploaded media (the server).
pub fn media_refs(spec: &OfferSpec) -> Vec<(FieldPath, &str, ImageSlot)> {
    let media = FieldPath::root().key("media");
    let mut out = Vec::new();
    for (name, r) in spec.media.icons.slots() {
        if let (Some(r), Some(slot)) = (r, ImageSlot::icon(name)) {
            out.push((media.key("icons").key(name), r.as_str(), slot));
        }
    }
    for (i, s) in spec.media.screenshots.iter().enumerate() {
        if let Some(r) = &s.image {
            out.push((media.key("screenshots").index(i).key("image"), r.as_str(), ImageSlot::Screenshot));
        }
    }
    out
}

/// Every `repository:tag` a document's plans deliver, with the path of the tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Where the tag is in the document.
    pub path: FieldPath,
    /// The repository.
    pub repository: String,
    /// The tag.
    pub tag: String,
}

/// The image references of `spec`'s plans (well-formed or not: callers check those they can resolve).
pub fn image_refs(spec: &OfferSpec) -> Vec<ImageRef> {
    let mut out = Vec::new();
    for (i, plan) in spec.plans.iter().enumerate() {
        for (j, image) in plan.images.iter().enumerate() {
            let Some(repo) = &image.repository else { continue };
            for (k, tag) in image.tags.iter().enumerate() {
                out.push(ImageRef {
                    path: FieldPath::root().key("plans").index(i).key("images").index(j).key("tags").index(k),
                    repository: repo.clone(),
                    tag: tag.clone(),
                });
            }
        }
    }
    out
}
