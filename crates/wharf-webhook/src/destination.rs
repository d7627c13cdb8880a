//! Where a webhook may go.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// Not an absolute `http` or `https` URL with a host.
    #[error("{0}")]
    Invalid(String),
    /// The URL names, or its host resolves to, an address webhooks may not reach.
    #[error("{url} resolves to {address}, a {kind} address: webhooks may not reach it")]
    Forbidden {
        /// The URL.
        url: String,
        /// The address.
        address: IpAddr,
        /// What kind of address it is (`loopback`, `private`, …).
        kind: &'static str,
    },
    /// The host does not resolve.
    #[error("{host} does not resolve: {reason}")]
    Unresolved {
        /// The host.
        host: String,
        /// Why.
        reason: String,
    },
}

/// A webhook URL that passed the syntax check: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    url: url::Url,
}

impl Destination {
    /// The URL, normalized (an IPv4 host written in hex or decimal reads as dotted quad).
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The host as written (a name, or an address).
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// The port (the scheme's default when none is written).
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(443)
    }

    /// The address the URL names itself, if it names one instead of a host name.
    pub fn literal(&self) -> Option<IpAddr> {
        match self.url.host()? {
            url::Host::Ipv4(a) => Some(IpAddr::V4(a)),
            url::Host::Ipv6(a) => Some(IpAddr::V6(a)),
            url::Host::Domain(_) => None,
        }
    }
}

impl FromStr for Destination {
    type Err = DestinationError;

    fn from_str(s: &str) -> Result<Destination, DestinationError> {
        let invalid = |why: &str| DestinationError::Invalid(format!("{s:?} is not a webhook URL: {why}"));
        let url = url::Url::parse(s.trim()).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("it must start with https:// (or http://)"));
        }
        if url.host().is_none() {
            return Err(invalid("it has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("credentials in the URL are not allowed (the signature authenticates deliveries)"));
        }
        if url.fragment().is_some() {
            return Err(invalid("a fragment is not sent to servers"));
        }
        Ok(Destination { url })
    }
}

/// Turns host names into addresses (DNS; tests give their own).
pub trait Resolver: Send + Sync {
    /// The addresses of `host`.
    fn lookup(&self, host: &str, port: u16) -> impl std::future::Future<Output = std::io::Result<Vec<IpAddr>>> + Send;
}

/// The system's resolver.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.map(|a| a.ip()).collect())
    }
}

/// Which addresses webhooks may reach: every public address, plus the ranges the
/// operator allows (`webhooks.allow` in the configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationPolicy {
    allowed: Vec<IpNet>,
}

impl DestinationPolicy {
    /// Public addresses only, plus `allowed` ranges.
    pub fn new(allowed: Vec<IpNet>) -> DestinationPolicy {
        DestinationPolicy { allowed }
    }

    /// Why `address` is refused (its kind), or `None` when webhooks may reach it.
    pub fn refuses(&self, address: IpAddr) -> Option<&'static str> {
        if self.allowed.iter().any(|net| net.contains(&address)) {
            return None;
        }
        forbidden_kind(address)
    }

    /// Checks a destination when it is saved: an address written in the URL must be
    /// one webhooks may reach. (Host names are checked at delivery, on what they
    /// resolve to then.)
    pub fn check(&self, destination: &Destination) -> Result<(), DestinationError> {
        match destination.literal() {
            Some(address) => self.check_address(destination, address),
            None => Ok(()),
        }
    }

    /// The addresses to connect to for `destination`: every address its host resolves
    /// to must be allowed (a name that resolves to one private address among public ones
    /// is refused), and only these addresses are used for the connection.
    pub async fn resolve(
        &self,
        destination: &Destination,
        resolver: &impl Resolver,
    ) -> Result<Vec<SocketAddr>, DestinationError> {
        let port = destination.port();
        let addresses = match destination.literal() {
            Some(a) => vec![a],
            None => resolver.lookup(destination.host(), port).await.map_err(|e| DestinationError::Unresolved {
                host: destination.host().to_owned(),
                reason: e.to_string(),
            })?,
        };
        if addresses.is_empty() {
            return Err(DestinationError::Unresolved {
                host: destination.host().to_owned(),
                reason: "no addresses".into(),
            });
        }
        for a in &addresses {
            self.check_address(destination, *a)?;
        }
        Ok(addresses.into_iter().map(|a| SocketAddr::new(a, port)).collect())
    }

    fn check_address(&self, destination: &Destination, address: IpAddr) -> Result<(), DestinationError> {
        match self.refuses(address) {
            None => Ok(()),
            Some(kind) => Err(DestinationError::Forbidden { url: destination.url.to_string(), address, kind }),
        }
    }
}

/// The kind of a non-public address, or `None` for a public one.
fn forbidden_kind(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(a) => v4_kind(a),
        IpAddr::V6(a) => v6_kind(a),
    }
}

fn v4_kind(a: Ipv4Addr) -> Option<&'static str> {
    let [b0, b1, b2, _] = a.octets();
    Some(match (b0, b1, b2) {
        _ if a.is_unspecified() || b0 == 0 => "unspecified",
        _ if a.is_loopback() => "loopback",
        _ if a.is_private() => "private",
        (169, 254, _) => "link-local (cloud metadata)",
        (100, 64..=127, _) => "shared (carrier-grade NAT)",
        (192, 0, 0) => "protocol assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        _ if a.is_multicast() => "multicast",
        _ if b0 >= 240 => "reserved",
        _ => return None,
    })
}

fn v6_kind(a: Ipv6Addr) -> Option<&'static str> {
    // An IPv4 address inside an IPv6 one is judged as itself: mapped (::ffff:a.b.c.d),
    // compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
    let s = a.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(v4) = a.to_ipv4_mapped() {
        return v4_kind(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !a.is_unspecified() && !a.is_loopback() {
        return v4_kind(embedded(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_kind(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return v4_kind(embedded(s[1], s[2]));
    }
    Some(match s[0] {
        _ if a.is_unspecified() => "unspecified",
        _ if a.is_loopback() => "loopback",
        0xfe80..=0xfebf => "link-local",
        0xfc00..=0xfdff => "unique-local (includes cloud metadata fd00:ec2::254)",
        0xff00..=0xffff => "multicast",
        0x2001 if s[1] == 0x0db8 => "documentation",
        0x0100 if s[1..4] == [0, 0, 0] => "discard",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_private_address_is_refused() {
        let policy = DestinationPolicy::default();
        let refused = [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://0x7f000001/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://[fe80::1]/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://192.0.2.1/",
        ];
        for url in refused {
            let d: Destination = url.parse().unwrap();
            assert!(matches!(policy.check(&d), Err(DestinationError::Forbidden { .. })), "{url}");
        }
        for url in ["https://hooks.example.com/x", "https://93.184.215.14/", "https://[2606:4700::1111]/"] {
            let d: Destination = url.parse().unwrap();
            assert_eq!(policy.check(&d), Ok(()), "{url}");
        }
    }

    #[test]
    fn allowed_ranges_open_exactly_themselves() {
        let policy = DestinationPolicy::new(vec!["127.0.0.2/32".parse().unwrap()]);
        assert_eq!(policy.refuses("127.0.0.2".parse().unwrap()), None);
        assert_eq!(policy.refuses("127.0.0.1".parse().unwrap()), Some("loopback"));
    }

    #[test]
    fn malformed_urls_are_refused_with_the_reason() {
        for (url, why) in [
            ("ftp://example.com/", "https://"),
            ("https://user:pw@example.com/", "credentials"),
            ("not a url", "relative URL"),
            ("https://example.com/#x", "fragment"),
        ] {
            let e = url.parse::<Destination>().unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
        }
    }
}
