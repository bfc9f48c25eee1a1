//! IP allow-lists: CIDR blocks (`203.0.113.0/24`, `2001:db8::/32`, or a single address).

use std::net::IpAddr;

/// One allowed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Parses `a.b.c.d[/n]` or `v6[/n]`. Host bits must be zero (a typo like `10.0.0.1/8`
    /// is refused rather than silently widened).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, bits) = match text.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            Some(b) if !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()) && b.len() <= 3 => {
                b.parse().ok()?
            }
            Some(_) => return None,
            None => max,
        };
        if bits > max {
            return None;
        }
        let cidr = Self { addr, bits };
        (cidr.network(addr) == Some(bits_of(addr))).then_some(cidr)
    }

    fn network(&self, ip: IpAddr) -> Option<u128> {
        let (value, width) = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(v)) => (u128::from(u32::from(v)), 32),
            (IpAddr::V6(_), IpAddr::V6(v)) => (u128::from(v), 128),
            _ => return None,
        };
        let host_bits = width - u32::from(self.bits);
        Some(if host_bits >= 128 {
            0
        } else {
            (value >> host_bits) << host_bits
        })
    }

    /// Whether `ip` is inside the block (IPv4-mapped IPv6 addresses count as IPv4).
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.network(ip) == Some(bits_of(self.addr))
    }

    /// Canonical text (`addr/bits`), as PostgreSQL's `cidr` prints it.
    #[must_use]
    pub fn to_text(&self) -> String {
        format!("{}/{}", self.addr, self.bits)
    }
}

fn bits_of(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks() {
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains("203.0.113.77".parse().unwrap()));
        assert!(c.contains("::ffff:203.0.113.77".parse().unwrap()));
        assert!(!c.contains("203.0.114.1".parse().unwrap()));
        assert!(!c.contains("2001:db8::1".parse().unwrap()));
        let one = Cidr::parse("198.51.100.7").unwrap();
        assert_eq!(one.to_text(), "198.51.100.7/32");
        assert!(one.contains("198.51.100.7".parse().unwrap()));
        assert!(!one.contains("198.51.100.8".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        for bad in [
            "10.0.0.1/8",
            "10.0.0.0/33",
            "10.0.0.0/",
            "x",
            "10.0.0.0/+8",
            "::/129",
            " 10.0.0.0/8",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }
}
