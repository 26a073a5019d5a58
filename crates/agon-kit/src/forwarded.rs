//! Who is asking: the client's address, taken from `X-Forwarded-For` only as far back as the hops that added it
//! are trusted proxies.
//!
//! Anyone can send `X-Forwarded-For`, so its entries are believed only when the hop that passed the request on is
//! a configured proxy (the load balancer in front of the gateway, the gateway in front of a service). Walking from
//! the connecting peer towards the client, the first address that is not a trusted proxy is the client; a client
//! that forges entries only adds them to the left of what the first trusted proxy saw, so they are never reached.

use std::{convert::Infallible, net::IpAddr, net::SocketAddr, sync::Arc};

use axum::extract::{ConnectInfo, FromRequestParts};
use http::{HeaderMap, request::Parts};
use ipnet::IpNet;

/// Addresses whose `X-Forwarded-For` entries are believed.
#[derive(Debug, Clone)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    pub fn new(nets: &[IpNet]) -> Self {
        Self(nets.into())
    }

    /// Loopback only: a proxy on the same machine (nginx, Caddy) in front of `agon up`.
    pub fn loopback() -> Vec<IpNet> {
        ["127.0.0.0/8", "::1/128"]
            .iter()
            .filter_map(|net| net.parse().ok())
            .collect()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`, the address that connected: `peer` itself unless it is a trusted proxy, else
    /// the right-most `X-Forwarded-For` entry that is not one (several headers read as one list, in order).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let entries = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>();
        for entry in entries.iter().rev().flat_map(|v| v.rsplit(',')) {
            // An entry that is not an address (`unknown`, garbage) ends the walk: nothing left of it is provable.
            let Some(ip) = parse_entry(entry.trim()) else {
                break;
            };
            client = ip;
            if !self.contains(client) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`, `[2001:db8::1]:443`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    entry
        .parse::<SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

/// The client's address for a handler (throttling, audit), or `None` when the request came neither through a
/// listener nor through the in-process gateway (a unit test's `oneshot`).
///
/// The in-process gateway resolves the client itself and hands it over as this extension; a service serving
/// its own port (`agon serve`) resolves it from the connection and [`TrustedProxies`], which
/// [`crate::server::serve`] supplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => ip.fmt(f),
            None => f.write_str("unknown"),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(resolved) = parts.extensions.get::<ClientAddr>() {
            return Ok(*resolved);
        }
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        let trusted = parts.extensions.get::<TrustedProxies>();
        Ok(Self(match (peer, trusted) {
            (Some(ConnectInfo(peer)), Some(trusted)) => {
                Some(trusted.client(peer.ip(), &parts.headers))
            }
            (Some(ConnectInfo(peer)), None) => Some(peer.ip().to_canonical()),
            _ => None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append("x-forwarded-for", v.parse().unwrap());
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = TrustedProxies::new(&TrustedProxies::loopback());
        let forged = headers(&["10.9.9.9"]);
        assert_eq!(
            trusted.client(ip("203.0.113.7"), &forged),
            ip("203.0.113.7")
        );
        let none = TrustedProxies::new(&[]);
        assert_eq!(none.client(ip("127.0.0.1"), &forged), ip("127.0.0.1"));
    }

    #[test]
    fn trusted_hops_are_walked_from_the_right() {
        let trusted = TrustedProxies::new(&[
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.1/32".parse().unwrap(),
        ]);
        // The client forged "6.6.6.6"; the load balancer (10.0.0.2) appended the real client, the gateway
        // (10.0.0.3) the balancer.
        let chain = headers(&["6.6.6.6, 198.51.100.4", "10.0.0.2"]);
        assert_eq!(trusted.client(ip("10.0.0.3"), &chain), ip("198.51.100.4"));
        // Every hop trusted: the left-most entry is as far as anyone can tell.
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &headers(&["10.1.1.1, 10.0.0.2"])),
            ip("10.1.1.1")
        );
        // No header: the proxy itself.
        assert_eq!(
            trusted.client(ip("10.0.0.3"), &HeaderMap::new()),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn entries_with_ports_mapped_addresses_and_garbage() {
        let trusted = TrustedProxies::new(&TrustedProxies::loopback());
        assert_eq!(
            trusted.client(ip("::ffff:127.0.0.1"), &headers(&["198.51.100.4:5000"])),
            ip("198.51.100.4")
        );
        assert_eq!(
            trusted.client(ip("::1"), &headers(&["[2001:db8::1]:443"])),
            ip("2001:db8::1")
        );
        // Garbage stops the walk at the last provable hop.
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &headers(&["198.51.100.4, nonsense"])),
            ip("127.0.0.1")
        );
    }
}
