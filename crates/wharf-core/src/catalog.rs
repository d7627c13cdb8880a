//! The catalog's vocabulary: facets, sort orders, search text and locale
//! negotiation, all parsed at the boundary.
//!
//! A search query is plain words. Whatever a full-text engine would read as syntax
//! (quotes, `*`, `-`, `:`, parentheses, `NEAR`, `OR`) is not syntax here: the query is
//! cut into words of letters and digits, and each database builds its own query from
//! those words alone, so no input reaches FTS5's or PostgreSQL's query parser.

use std::fmt;
use std::str::FromStr;

/// The longest search query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 256;
/// The most words a query may hold.
pub const MAX_QUERY_WORDS: usize = 16;
/// The longest word kept (longer ones are cut: no listing word is longer).
pub const MAX_WORD_CHARS: usize = 64;

/// What the catalog can be narrowed by and counts results by.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CatalogFacet {
    /// The listing's categories.
    Category,
    /// The publisher organization.
    Publisher,
    /// The plans' pricing models (`free`, `byol`, `flat_monthly`, `per_core_hour`).
    Pricing,
    /// The images' CPU architectures (`amd64`, `arm64`, …).
    Architecture,
    /// The plans' deployment kinds (`kubernetes`, `compose`, `container`).
    Deployment,
    /// The live version's health grade, `A` to `F`.
    Grade,
}

impl CatalogFacet {
    /// Every facet, in the order results show them.
    pub const ALL: &[CatalogFacet] = &[
        CatalogFacet::Category,
        CatalogFacet::Publisher,
        CatalogFacet::Pricing,
        CatalogFacet::Architecture,
        CatalogFacet::Deployment,
        CatalogFacet::Grade,
    ];

    /// The stored and query-parameter form.
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogFacet::Category => "category",
            CatalogFacet::Publisher => "publisher",
            CatalogFacet::Pricing => "pricing",
            CatalogFacet::Architecture => "architecture",
            CatalogFacet::Deployment => "deployment",
            CatalogFacet::Grade => "grade",
        }
    }
}

impl FromStr for CatalogFacet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CatalogFacet::ALL.iter().copied().find(|f| f.as_str() == s).ok_or_else(|| {
            let all: Vec<&str> = CatalogFacet::ALL.iter().map(|f| f.as_str()).collect();
            format!("unknown facet {s:?}; the facets are {}", all.join(", "))
        })
    }
}

impl fmt::Display for CatalogFacet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How search results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CatalogSort {
    /// Best match first (the default with a query; by name without one).
    #[default]
    Relevance,
    /// By name, A to Z.
    Name,
    /// The most recently released first.
    Newest,
}

impl CatalogSort {
    /// Every order.
    pub const ALL: &[CatalogSort] = &[CatalogSort::Relevance, CatalogSort::Name, CatalogSort::Newest];

    /// The query-parameter form.
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogSort::Relevance => "relevance",
            CatalogSort::Name => "name",
            CatalogSort::Newest => "newest",
        }
    }
}

impl FromStr for CatalogSort {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CatalogSort::ALL
            .iter()
            .copied()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("unknown sort order {s:?}; the orders are relevance, name, newest"))
    }
}

/// The most values one facet filter may name.
pub const MAX_FACET_VALUES: usize = 20;

/// The values a facet filter names: one, or several separated by commas (any of them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FacetValues(Vec<String>);

impl FacetValues {
    /// The values, in order, without repeats.
    pub fn values(&self) -> &[String] {
        &self.0
    }

    /// The values, owned.
    pub fn into_values(self) -> Vec<String> {
        self.0
    }
}

impl FromStr for FacetValues {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut values: Vec<String> = Vec::new();
        for v in s.split(',').map(str::trim) {
            if v.is_empty() {
                return Err("names an empty value: give values separated by commas".into());
            }
            if v.chars().count() > 100 || v.chars().any(char::is_control) {
                return Err(format!("{v:?} is not a facet value (at most 100 characters, no control characters)"));
            }
            if !values.iter().any(|x| x == v) {
                values.push(v.to_owned());
            }
        }
        if values.len() > MAX_FACET_VALUES {
            return Err(format!("must name at most {MAX_FACET_VALUES} values (got {})", values.len()));
        }
        Ok(FacetValues(values))
    }
}

/// A search query: the words to find, lower-cased, in order, without repeats.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchText {
    words: Vec<String>,
}

impl SearchText {
    /// The words; empty when the query holds none (then everything matches).
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Whether there is nothing to search for.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

impl FromStr for SearchText {
    type Err = String;

    /// Cuts `s` into words of letters and digits. Refuses a query longer than
    /// [`MAX_QUERY_CHARS`] or with more than [`MAX_QUERY_WORDS`] words.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let chars = s.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(format!("must be at most {MAX_QUERY_CHARS} characters long (got {chars})"));
        }
        let mut words: Vec<String> = Vec::new();
        for word in s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            let word: String = word.to_lowercase().chars().take(MAX_WORD_CHARS).collect();
            if !words.contains(&word) {
                words.push(word);
            }
        }
        if words.len() > MAX_QUERY_WORDS {
            return Err(format!("must hold at most {MAX_QUERY_WORDS} words (got {})", words.len()));
        }
        Ok(SearchText { words })
    }
}

/// A language range from `Accept-Language`, with its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct LanguageRange {
    /// Lower-cased, e.g. `nl-be`, `en`, or `*`.
    pub range: String,
    /// The `q` weight, 0 to 1.
    pub weight: f32,
}

/// The ranges of an `Accept-Language` value, best first (ties keep their order);
/// malformed entries and `q=0` are left out. At most 16 ranges are read.
pub fn accept_language(header: &str) -> Vec<LanguageRange> {
    let mut ranges: Vec<LanguageRange> = header
        .split(',')
        .take(16)
        .filter_map(|item| {
            let mut parts = item.split(';');
            let range = parts.next()?.trim().to_ascii_lowercase();
            let valid = range == "*"
                || (!range.is_empty()
                    && range.len() <= 35
                    && range
                        .split('-')
                        .all(|s| !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_alphanumeric())));
            if !valid {
                return None;
            }
            let mut weight = 1.0_f32;
            for p in parts {
                let (k, v) = p.split_once('=')?;
                if k.trim().eq_ignore_ascii_case("q") {
                    weight = v.trim().parse().ok().filter(|w: &f32| (0.0..=1.0).contains(w))?;
                }
            }
            (weight > 0.0).then_some(LanguageRange { range, weight })
        })
        .collect();
    ranges.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    ranges
}

/// Picks the locale to show from those a listing has (`available`, BCP 47 tags as
/// the publisher wrote them) for the ranges a reader accepts: for each range, best
/// first, an exact match (case-insensitive), then the range's prefixes (RFC 4647
/// lookup: `nl-BE` → `nl`), then a locale of the same language (`nl` → `nl-NL`).
/// Nothing matching (or `*`) → `default`.
pub fn negotiate<'a>(ranges: &[LanguageRange], available: &'a [String], default: &'a str) -> &'a str {
    for r in ranges {
        if r.range == "*" {
            return default;
        }
        if let Some(l) = available.iter().find(|l| l.eq_ignore_ascii_case(&r.range)) {
            return l;
        }
        let mut range = r.range.as_str();
        while let Some((shorter, _)) = range.rsplit_once('-') {
            range = shorter;
            if let Some(l) = available.iter().find(|l| l.eq_ignore_ascii_case(range)) {
                return l;
            }
        }
        let language = r.range.split('-').next().unwrap_or_default();
        // The default locale first among several of the same language.
        if primary_language(default) == language {
            return default;
        }
        if let Some(l) = available.iter().find(|l| primary_language(l) == language) {
            return l;
        }
    }
    default
}

/// The primary language subtag, lower-cased: `nl-NL` → `nl`.
pub fn primary_language(locale: &str) -> String {
    locale.split('-').next().unwrap_or_default().to_ascii_lowercase()
}

/// PostgreSQL's text search configuration for a locale's language (its stemmer
/// and stop words); `simple` (no stemming) for languages it has none for.
pub fn text_search_language(locale: &str) -> &'static str {
    match primary_language(locale).as_str() {
        "ar" => "arabic",
        "ca" => "catalan",
        "da" => "danish",
        "de" => "german",
        "el" => "greek",
        "en" => "english",
        "es" => "spanish",
        "eu" => "basque",
        "fi" => "finnish",
        "fr" => "french",
        "ga" => "irish",
        "hi" => "hindi",
        "hu" => "hungarian",
        "hy" => "armenian",
        "id" => "indonesian",
        "it" => "italian",
        "lt" => "lithuanian",
        "nb" | "nn" | "no" => "norwegian",
        "ne" => "nepali",
        "nl" => "dutch",
        "pt" => "portuguese",
        "ro" => "romanian",
        "ru" => "russian",
        "sr" => "serbian",
        "sv" => "swedish",
        "ta" => "tamil",
        "tr" => "turkish",
        "yi" => "yiddish",
        _ => "simple",
    }
}

/// Every configuration [`text_search_language`] names.
pub const TEXT_SEARCH_LANGUAGES: &[&str] = &[
    "arabic",
    "armenian",
    "basque",
    "catalan",
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "greek",
    "hindi",
    "hungarian",
    "indonesian",
    "irish",
    "italian",
    "lithuanian",
    "nepali",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "serbian",
    "simple",
    "spanish",
    "swedish",
    "tamil",
    "turkish",
    "yiddish",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn words(q: &str) -> Vec<String> {
        q.parse::<SearchText>().unwrap().words().to_vec()
    }

    #[test]
    fn queries_are_plain_words() {
        assert_eq!(words("Kafka streams"), ["kafka", "streams"]);
        // FTS5 and tsquery syntax is not syntax.
        assert_eq!(
            words(r#""kafka* OR name:stream" -x NEAR(a b) & !c | d:*"#),
            ["kafka", "or", "name", "stream", "x", "near", "a", "b", "c", "d"]
        );
        assert_eq!(words("Ünïcode Straße données"), ["ünïcode", "straße", "données"]);
        assert_eq!(words("a a A"), ["a"]);
        assert!(words(" \"*:()").is_empty());
        let long = "x".repeat(MAX_QUERY_CHARS + 1);
        assert!(long.parse::<SearchText>().unwrap_err().contains("at most 256 characters"));
        let many = (0..17).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        assert!(many.parse::<SearchText>().unwrap_err().contains("at most 16 words"));
    }

    #[test]
    fn facet_values_are_comma_separated() {
        let v: FacetValues = "databases, security,databases".parse().unwrap();
        assert_eq!(v.values(), ["databases", "security"]);
        assert!("a,,b".parse::<FacetValues>().unwrap_err().contains("empty value"));
        assert!("".parse::<FacetValues>().is_err());
        let many = (0..21).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        assert!(many.parse::<FacetValues>().unwrap_err().contains("at most 20 values"));
    }

    #[test]
    fn accept_language_is_ranked() {
        let r = accept_language("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5, bad range, x;q=2, y;q=0");
        let got: Vec<&str> = r.iter().map(|r| r.range.as_str()).collect();
        assert_eq!(got, ["fr-ch", "fr", "en", "de", "*"]);
        assert!(accept_language("").is_empty());
    }

    #[test]
    fn negotiation_falls_back_to_the_default() {
        let have = vec!["en-US".to_owned(), "nl-NL".to_owned(), "fr-FR".to_owned()];
        let pick = |h: &str| negotiate(&accept_language(h), &have, "en-US").to_owned();
        assert_eq!(pick("nl-NL"), "nl-NL");
        assert_eq!(pick("nl-BE, nl;q=0.9"), "nl-NL");
        assert_eq!(pick("fr"), "fr-FR");
        assert_eq!(pick("de-DE, fr;q=0.5"), "fr-FR");
        assert_eq!(pick("xx-YY"), "en-US");
        assert_eq!(pick("en-GB"), "en-US");
        assert_eq!(pick(""), "en-US");
        assert_eq!(pick("*"), "en-US");
    }

    #[test]
    fn languages_map_to_text_search_configurations() {
        assert_eq!(text_search_language("nl-NL"), "dutch");
        assert_eq!(text_search_language("ja-JP"), "simple");
        for l in ["en", "de", "pt-BR", "zz"] {
            assert!(TEXT_SEARCH_LANGUAGES.contains(&text_search_language(l)));
        }
    }
}
