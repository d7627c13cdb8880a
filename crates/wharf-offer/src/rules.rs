//! The rules an offer document must follow, checked in one pass that reports every
//! problem with its path. The server applies them when a draft is saved (format
//! rules) and when it is submitted (format and completeness); `wharf offer validate`
//! applies the same functions offline.
//!
//! What needs the server's data (repositories and tags, tenants, uploaded media,
//! earlier versions) is checked by the caller from the lists [`media_refs`] and
//! [`ImageRefs`] give, or by the functions of [`crate::versions`].

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

    fn plan(&mut self, plan: &Plan, publisher: Option<&str>, path: &FieldPath) {
        let p = path.key("id");
        if self.required(&plan.id, &p)
            && let Some(id) = &plan.id
        {
            self.rule(&p, id.parse::<PlanId>().map(drop));
        }
        let p = path.key("name");
        if self.required(&plan.name, &p)
            && let Some(n) = &plan.name
        {
            self.rule(&p, text::one_line(n, 200));
        }
        if let Some(d) = &plan.description {
            self.rule(&path.key("description"), text::multi_line(d, 2_000));
        }
        let p = path.key("pricing");
        if self.required(&plan.pricing, &p)
            && let Some(pricing) = &plan.pricing
        {
            self.pricing(pricing, &p);
        }
        let p = path.key("visibility");
        let audience = path.key("audience");
        match plan.visibility.as_deref() {
            None | Some("public") => {
                if !plan.audience.is_empty() {
                    self.p.error(&audience, "is only for private plans; set visibility: private or remove it");
                }
            }
            Some("private") => {
                if plan.audience.is_empty() {
                    self.p.error(&audience, "must list at least one customer organization for a private plan");
                }
                self.most(&plan.audience, MAX_PLAN_AUDIENCE, &audience, "tenants");
            }
            Some(other) => self.p.error(&p, format!("must be public or private (got {other:?})")),
        }
        self.tenants(&plan.audience, &audience);
        let p = path.key("images");
        if plan.images.is_empty() && self.submit {
            self.p.error(&p, "needs at least one image");
        }
        let mut total_tags = 0;
        for (i, image) in plan.images.iter().enumerate() {
            let here = p.index(i);
            let r = here.key("repository");
            if self.required(&image.repository, &r)
                && let Some(repo) = &image.repository
            {
                match repo.parse::<RepositoryName>() {
                    Err(e) => self.p.error(&r, format!("is not a repository name: {e}")),
                    Ok(name) => {
                        if let Some(publisher) = publisher
                            && publisher.parse::<OrgName>().is_ok()
                            && name.namespace() != publisher
                        {
                            self.p.error(
                                &r,
                                format!(
                                    "must be a repository of the publisher organization {publisher} ({publisher}/…)"
                                ),
                            );
                        }
                    }
                }
            }
            let t = here.key("tags");
            if image.tags.is_empty() && self.submit {
                self.p.error(&t, "needs at least one version tag");
            }
            for (j, tag) in image.tags.iter().enumerate() {
                self.rule(&t.index(j), tag.parse::<VersionTag>().map(drop));
            }
            self.unique(image.tags.iter().map(|s| Some(s.as_str())), |i| t.index(i), str::to_owned);
            total_tags += image.tags.len();
        }
        if total_tags > MAX_TAGS_PER_PLAN {
            self.p.error(&p, format!("may deliver at most {MAX_TAGS_PER_PLAN} tags in all (lists {total_tags})"));
        }
        self.unique(
            plan.images.iter().map(|i| i.repository.as_deref()),
            |i| p.index(i).key("repository"),
            str::to_owned,
        );
        let p = path.key("deployment");
        if self.required(&plan.deployment, &p)
            && let Some(d) = &plan.deployment
        {
            self.deployment(d, plan, &p);
        }
    }

    fn pricing(&mut self, pricing: &Pricing, path: &FieldPath) {
        let model = path.key("model");
        let price = path.key("price");
        let currency = path.key("currency");
        let paid = match pricing.model.as_deref() {
            None => {
                self.p.error(&model, "is required: free, byol, flat_monthly or per_core_hour");
                return;
            }
            Some("free" | "byol") => false,
            Some("flat_monthly" | "per_core_hour") => true,
            Some(other) => {
                self.p.error(&model, format!("must be free, byol, flat_monthly or per_core_hour (got {other:?})"));
                return;
            }
        };
        if !paid {
            if pricing.price.is_some() {
                self.p.error(&price, "is only for flat_monthly and per_core_hour plans");
            }
            if pricing.currency.is_some() {
                self.p.error(&currency, "is only for flat_monthly and per_core_hour plans");
            }
            return;
        }
        match &pricing.price {
            None => self.p.error(&price, "is required for a paid plan, e.g. \"49.00\""),
            Some(p) => self.rule(&price, decimal_price(p)),
        }
        match &pricing.currency {
            None => self.p.error(&currency, "is required for a paid plan, e.g. USD"),
            Some(c) if c.len() == 3 && c.chars().all(|c| c.is_ascii_uppercase()) => {}
            Some(c) => self.p.error(&currency, format!("must be an ISO 4217 code such as USD or EUR (got {c:?})")),
        }
    }

    fn deployment(&mut self, d: &Deployment, plan: &Plan, path: &FieldPath) {
        let kind = path.key("kind");
        let k = d.kind.as_deref();
        match k {
            None => self.p.error(&kind, "is required: kubernetes, compose or container"),
            Some("kubernetes" | "compose" | "container") => {}
            Some(other) => self.p.error(&kind, format!("must be kubernetes, compose or container (got {other:?})")),
        }
        let params = path.key("parameters");
        self.most(&d.parameters, 50, &params, "parameters");
        let mut names = HashSet::new();
        for (i, param) in d.parameters.iter().enumerate() {
            self.parameter(param, &params.index(i));
            if let Some(n) = &param.name {
                names.insert(n.as_str());
            }
        }
        self.unique(d.parameters.iter().map(|p| p.name.as_deref()), |i| params.index(i).key("name"), str::to_owned);
        let tpath = path.key("template");
        let Some(template) = &d.template else {
            if self.submit {
                self.p.error(&tpath, "is required");
            }
            return;
        };
        if template.trim().is_empty() {
            self.p.error(&tpath, "must not be empty");
            return;
        }
        if template.len() > MAX_TEMPLATE_BYTES {
            self.p.error(&tpath, format!("must be at most {MAX_TEMPLATE_BYTES} bytes (is {})", template.len()));
            return;
        }
        let repos: HashSet<&str> = plan.images.iter().filter_map(|i| i.repository.as_deref()).collect();
        let mut used = HashSet::new();
        for m in PLACEHOLDER.captures_iter(template) {
            let whole = m.get(0).map_or("", |g| g.as_str());
            if whole.starts_with("$$") {
                continue; // `$${` is a literal `${`
            }
            let inner = m.get(1).map_or("", |g| g.as_str()).trim();
            if let Some(repo) = inner.strip_prefix("image:") {
                if !repos.contains(repo) {
                    self.p.error(
                        &tpath,
                        format!("uses ${{image:{repo}}}, but the plan has no image from repository {repo:?}"),
                    );
                }
            } else if names.contains(inner) {
                used.insert(inner.to_owned());
            } else {
                self.p.error(&tpath, format!("uses ${{{inner}}}, which is not one of the plan's parameters"));
            }
        }
        for (i, param) in d.parameters.iter().enumerate() {
            if let Some(n) = &param.name
                && PARAMETER_NAME.is_match(n)
                && !used.contains(n.as_str())
            {
                self.p.warning(&params.index(i).key("name"), format!("{n:?} is not used by the template (${{{n}}})"));
            }
        }
        match k {
            Some("kubernetes") => self.yaml_documents(template, &tpath, |doc| {
                let ok = doc.get("apiVersion").is_some_and(|v| v.is_string())
                    && doc.get("kind").is_some_and(|v| v.is_string());
                if ok {
                    Ok(())
                } else {
                    Err("has a document without apiVersion and kind: every document must be a Kubernetes object".into())
                }
            }),
            Some("compose") => self.yaml_documents(template, &tpath, |doc| {
                if doc.get("services").is_some_and(|v| v.is_object()) {
                    Ok(())
                } else {
                    Err("must be a Compose file with a services: mapping".into())
                }
            }),
            _ => {}
        }
    }

    /// Parses a YAML template (placeholders are plain scalars to YAML) and checks each document.
    fn yaml_documents(
        &mut self,
        template: &str,
        path: &FieldPath,
        each: impl Fn(&serde_json::Value) -> Result<(), String>,
    ) {
        use serde::Deserialize;
        let mut count = 0;
        for doc in yaml_serde::Deserializer::from_str(template) {
            match serde_json::Value::deserialize(doc) {
                Err(e) => {
                    self.p.error(path, format!("is not valid YAML: {e}"));
                    return;
                }
                Ok(serde_json::Value::Null) => {}
                Ok(v) => {
                    count += 1;
                    if let Err(e) = each(&v) {
                        self.p.error(path, e);
                        return;
                    }
                }
            }
        }
        if count == 0 {
            self.p.error(path, "holds no YAML document");
        }
    }

    fn parameter(&mut self, param: &Parameter, path: &FieldPath) {
        let p = path.key("name");
        match &param.name {
            None => self.p.error(&p, "is required"),
            Some(n) if !PARAMETER_NAME.is_match(n) => self
                .p
                .error(&p, "must be lowercase letters, digits and '_', starting with a letter, at most 64 characters"),
            Some(_) => {}
        }
        match &param.label {
            None => self.p.error(&path.key("label"), "is required"),
            Some(l) => self.rule(&path.key("label"), text::one_line(l, 100)),
        }
        if let Some(d) = &param.description {
            self.rule(&path.key("description"), text::multi_line(d, 500));
        }
        let t = path.key("type");
        let kind = match param.kind.as_deref() {
            None => {
                self.p.error(&t, "is required: string, integer, boolean, choice or secret");
                return;
            }
            Some(k @ ("string" | "integer" | "boolean" | "choice" | "secret")) => k,
            Some(other) => {
                self.p.error(&t, format!("must be string, integer, boolean, choice or secret (got {other:?})"));
                return;
            }
        };
        let only = |field: &str, for_kind: &str| format!("{field} is only for {for_kind} parameters");
        if kind != "integer" {
            if param.min.is_some() {
                self.p.error(&path.key("min"), only("min", "integer"));
            }
            if param.max.is_some() {
                self.p.error(&path.key("max"), only("max", "integer"));
            }
        } else if let (Some(lo), Some(hi)) = (param.min, param.max)
            && lo > hi
        {
            self.p.error(&path.key("max"), format!("must be at least min ({lo})"));
        }
        let mut pattern = None;
        if let Some(pat) = &param.pattern {
            if kind != "string" && kind != "secret" {
                self.p.error(&path.key("pattern"), only("pattern", "string and secret"));
            } else {
                match regex::Regex::new(&format!("^(?:{pat})$")) {
                    Ok(re) => pattern = Some(re),
                    Err(e) => self.p.error(&path.key("pattern"), format!("is not a valid regular expression: {e}")),
                }
            }
        }
        if kind == "choice" {
            if param.choices.is_empty() {
                self.p.error(&path.key("choices"), "must list the allowed values of a choice parameter");
            }
            self.unique(
                param.choices.iter().map(|s| Some(s.as_str())),
                |i| path.key("choices").index(i),
                str::to_owned,
            );
        } else if !param.choices.is_empty() {
            self.p.error(&path.key("choices"), only("choices", "choice"));
        }
        if let Some(n) = param.generate_length {
            if kind != "secret" {
                self.p.error(&path.key("generate_length"), only("generate_length", "secret"));
            } else if !(16..=128).contains(&n) {
                self.p.error(&path.key("generate_length"), format!("must be 16 to 128 (got {n})"));
            }
        }
        if let Some(default) = &param.default {
            let d = path.key("default");
            let fits = match (kind, default) {
                ("string" | "secret", serde_json::Value::String(s)) => match &pattern {
                    Some(re) if !re.is_match(s) => Err("does not match pattern".to_owned()),
                    _ => Ok(()),
                },
                ("integer", serde_json::Value::Number(n)) => match n.as_i64() {
                    None => Err("must be a whole number".to_owned()),
                    Some(v) if param.min.is_some_and(|lo| v < lo) || param.max.is_some_and(|hi| v > hi) => {
                        Err("is outside min..max".to_owned())
                    }
                    Some(_) => Ok(()),
                },
                ("boolean", serde_json::Value::Bool(_)) => Ok(()),
                ("choice", serde_json::Value::String(s)) if param.choices.contains(s) => Ok(()),
                ("choice", _) => Err("must be one of choices".to_owned()),
                _ => Err(format!(
                    "must be {}",
                    match kind {
                        "integer" => "a whole number",
                        "boolean" => "true or false",
                        _ => "text",
                    }
                )),
            };
            self.rule(&d, fits);
            if kind == "secret" {
                self.p.error(&d, "a secret has no default: customers give one, or set generate_length");
            }
        }
    }
}

/// A price: a positive decimal with at most 4 decimals and at most 9 integer digits.
fn decimal_price(s: &str) -> Result<(), String> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let ok = !int.is_empty()
        && int.len() <= 9
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.len() <= 4
        && frac.chars().all(|c| c.is_ascii_digit())
        && !(s.contains('.') && frac.is_empty())
        && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    if ok {
        Ok(())
    } else {
        Err(format!("must be a positive amount with at most 4 decimals, e.g. \"49.00\" (got {s:?})"))
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
