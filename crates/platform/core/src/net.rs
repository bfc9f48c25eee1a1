//! IP address ranges (CIDR): the hooks' sign-up allow and deny lists, the pat function's
//! per-token allow-lists.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 or IPv6 network, `addr/prefix` (a bare address is a single host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: u128,
    prefix: u8,
    v4: bool,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let ip = addr
            .trim()
            .parse::<IpAddr>()
            .map_err(|_| format!("`{text}` is not an IP address or CIDR range"))?;
        let (bits, v4, max) = match canonical(ip) {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), true, 32u8),
            IpAddr::V6(v6) => (u128::from(v6), false, 128u8),
        };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: prefix length must be 0 to {max}"))?,
        };
        let mask = mask(prefix, max);
        if bits & !mask != 0 {
            return Err(format!(
                "`{text}` has host bits set; did you mean the network address of /{prefix}?"
            ));
        }
        Ok(Self {
            network: bits,
            prefix,
            v4,
        })
    }
}

fn mask(prefix: u8, max: u8) -> u128 {
    let width_mask = if max == 32 {
        u128::from(u32::MAX)
    } else {
        u128::MAX
    };
    if prefix == 0 {
        0
    } else {
        (width_mask << (max - prefix)) & width_mask
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) are treated as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

impl fmt::Display for Cidr {
    /// `network/prefix`, as PostgreSQL's `cidr` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.v4 {
            let v4 = Ipv4Addr::from(u32::try_from(self.network).unwrap_or(0));
            write!(f, "{v4}/{}", self.prefix)
        } else {
            write!(f, "{}/{}", Ipv6Addr::from(self.network), self.prefix)
        }
    }
}

impl Cidr {
    /// Whether `ip` is inside this network.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (bits, v4) = match canonical(ip) {
            IpAddr::V4(a) => (u128::from(u32::from(a)), true),
            IpAddr::V6(a) => (u128::from(a), false),
        };
        let max = if v4 { 32 } else { 128 };
        v4 == self.v4 && bits & mask(self.prefix, max) == self.network
    }
}

/// Parses an address as GoTrue reports it (`metadata.ip_address`), tolerating brackets and a
/// port (`[2001:db8::1]:443`, `192.0.2.1:5000`).
#[must_use]
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest
            .split_once(']')?
            .0
            .parse::<Ipv6Addr>()
            .ok()
            .map(IpAddr::V6);
    }
    let (host, _port) = text.rsplit_once(':')?;
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        parse_ip(s).unwrap()
    }

    #[test]
    fn v4_and_v6_ranges() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.255.1.2")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.2.3")), "mapped v4");
        let any: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(any.contains(ip("203.0.113.9")));
        assert!(!any.contains(ip("2001:db8::1")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        let host: Cidr = "192.0.2.7".parse().unwrap();
        assert!(host.contains(ip("192.0.2.7")));
        assert!(!host.contains(ip("192.0.2.8")));
    }

    #[test]
    fn ranges_print_as_postgresql_does() {
        for (text, printed) in [
            ("203.0.113.0/24", "203.0.113.0/24"),
            ("198.51.100.7", "198.51.100.7/32"),
            ("2001:db8::/32", "2001:db8::/32"),
        ] {
            let c: Cidr = text.parse().unwrap();
            assert_eq!(c.to_string(), printed, "{text}");
        }
    }

    #[test]
    fn malformed_ranges_are_explained() {
        assert!(
            "10.0.0.1/8"
                .parse::<Cidr>()
                .unwrap_err()
                .contains("host bits")
        );
        assert!(
            "10.0.0.0/33"
                .parse::<Cidr>()
                .unwrap_err()
                .contains("0 to 32")
        );
        assert!("nope".parse::<Cidr>().unwrap_err().contains("not an IP"));
        assert!("::/129".parse::<Cidr>().is_err());
    }

    #[test]
    fn addresses_with_ports_and_brackets() {
        assert_eq!(ip("192.0.2.1:5000"), ip("192.0.2.1"));
        assert_eq!(ip("[2001:db8::1]:443"), ip("2001:db8::1"));
        assert_eq!(parse_ip("not-an-ip"), None);
        assert_eq!(parse_ip(""), None);
    }
}
