//! Which addresses Beseda may connect to when someone else chose the address (a module's
//! webhook, a file given by URL): public ones only, unless the install lists a private range.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The public internet, plus the ranges an install allows (`BESEDA_OUTBOUND_ALLOW`), plus
/// single services of our own (the demo's module on loopback).
#[derive(Clone, Debug, Default)]
pub struct AddressPolicy {
    allowed: Vec<IpNet>,
    services: Vec<SocketAddr>,
}

impl AddressPolicy {
    /// Parses a comma-separated list of ranges (see [`parse_ranges`]).
    pub fn parse(list: &str) -> Result<AddressPolicy, String> {
        Ok(AddressPolicy {
            allowed: parse_ranges(list)?,
            services: Vec::new(),
        })
    }

    /// Lets in one address and port, written as such in a URL (never through a name).
    pub fn allow_service(&mut self, at: SocketAddr) {
        self.services.push(at);
    }

    /// An address written in a URL, with its port.
    pub fn permits_service(&self, ip: IpAddr, port: u16) -> bool {
        self.permits(ip) || self.services.contains(&SocketAddr::new(ip, port))
    }

    /// Public addresses, and the listed ranges.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        is_public(ip) || self.allowed.iter().any(|net| net.contains(&ip))
    }
}

/// A comma-separated list of address ranges (`10.0.0.0/8, 127.0.0.1`); a bare address is a
/// range of one. The error names the entry that is not a range.
pub fn parse_ranges(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an address range like 10.0.0.0/8"))
        })
        .collect()
}

/// An IPv6 form that carries an IPv4 address (mapped, NAT64) is judged as that address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let mapped = s[..6] == [0, 0, 0, 0, 0, 0xffff];
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    (mapped || nat64).then_some(tail)
}

/// Not loopback, private, shared (carrier NAT), link-local (cloud metadata lives there),
/// unique-local, multicast, broadcast, documentation, benchmarking or reserved.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique-local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
                || first == 0x2002 // 6to4 carries an IPv4 address we do not judge
                || v6.segments()[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(ip: &str) -> bool {
        AddressPolicy::default().permits(ip.parse().unwrap())
    }

    #[test]
    fn only_public_addresses_pass_by_default() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
        ] {
            assert!(!public(refused), "{refused} must be refused");
        }
        for allowed in ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(public(allowed), "{allowed} is public");
        }
    }

    #[test]
    fn listed_ranges_are_allowed() {
        let policy = AddressPolicy::parse("127.0.0.0/8, 10.0.0.5").unwrap();
        assert!(policy.permits("127.0.0.1".parse().unwrap()));
        assert!(policy.permits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(policy.permits("10.0.0.5".parse().unwrap()));
        assert!(!policy.permits("10.0.0.6".parse().unwrap()));
        assert!(!policy.permits("169.254.169.254".parse().unwrap()));
        let mut policy = AddressPolicy::default();
        policy.allow_service("127.0.0.1:9000".parse().unwrap());
        assert!(policy.permits_service("127.0.0.1".parse().unwrap(), 9000));
        assert!(!policy.permits_service("127.0.0.1".parse().unwrap(), 9001));
        assert!(!policy.permits("127.0.0.1".parse().unwrap()));
        let err = AddressPolicy::parse("10.0.0.0/8,intranet").unwrap_err();
        assert!(err.contains("intranet"), "{err}");
    }
}
