//! Who owns the other end of a loopback connection: the fact core's
//! [`Peer::foreign`] decides on (another user's program is not served).
//!
//! On Linux the kernel lists every TCP socket of the network namespace with its
//! owner's uid and inode in `/proc/net/tcp` (`/proc/net/tcp6` for `[::1]`),
//! readable by every user. The connecting socket is the one whose local address is
//! the connection's peer address and whose remote address is the server's own. A
//! socket that was closed (or orphaned) before its answer shows inode 0 (and, as a
//! time-wait entry, uid 0): [`Peer::Unowned`], since a browser waits for its
//! answer. Elsewhere, and when the table cannot be read: [`Peer::Unknown`].

use std::net::SocketAddr;

use cliauth_core::flow::Peer;

/// The owner of the socket at `peer` connected to this server's `local` address
/// (`None`: the address could not be read, so the connection is already gone).
pub(crate) fn owner(local: Option<SocketAddr>, peer: Option<SocketAddr>) -> Peer {
    #[cfg(target_os = "linux")]
    {
        match (local, peer) {
            (Some(local), Some(peer)) => linux::owner(local, peer),
            _ => Peer::Unowned,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (local, peer);
        Peer::Unknown
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fmt::Write as _;
    use std::net::{IpAddr, SocketAddr};

    use cliauth_core::flow::Peer;

    pub(super) fn owner(local: SocketAddr, peer: SocketAddr) -> Peer {
        let table = match peer.ip() {
            IpAddr::V4(_) => "/proc/net/tcp",
            IpAddr::V6(_) => "/proc/net/tcp6",
        };
        let Ok(text) = std::fs::read_to_string(table) else {
            return Peer::Unknown;
        };
        let own = rustix::process::getuid().as_raw();
        find(&text, &entry(peer), &entry(local), own)
    }

    /// The owner in `text` (a `/proc/net/tcp` table) of the socket whose local
    /// address is `socket` and remote address `remote`.
    pub(super) fn find(text: &str, socket: &str, remote: &str, own: u32) -> Peer {
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default();
        // The columns this reads, found by name: sl local rem st … uid timeout inode.
        if !header.contains("uid") || !header.contains("inode") {
            return Peer::Unknown;
        }
        for line in lines {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(l), Some(r), Some(uid), Some(inode)) =
                (f.get(1), f.get(2), f.get(7), f.get(9))
            else {
                continue;
            };
            if !l.eq_ignore_ascii_case(socket) || !r.eq_ignore_ascii_case(remote) {
                continue;
            }
            return match (uid.parse::<u32>(), inode.parse::<u64>()) {
                (Ok(uid), Ok(inode)) if inode != 0 => Peer::User { uid, own },
                (Ok(_), Ok(_)) => Peer::Unowned,
                _ => Peer::Unknown,
            };
        }
        // Readable, and the socket is not there: it is gone.
        Peer::Unowned
    }

    /// `ADDR:PORT` as the kernel prints it: the address's bytes as native-endian
    /// 32-bit words in hex, the port in hex.
    fn entry(addr: SocketAddr) -> String {
        let mut out = String::with_capacity(38);
        let words: Vec<[u8; 4]> = match addr.ip() {
            IpAddr::V4(ip) => vec![ip.octets()],
            IpAddr::V6(ip) => ip
                .octets()
                .chunks_exact(4)
                .map(|c| [c[0], c[1], c[2], c[3]])
                .collect(),
        };
        for w in words {
            let _ = write!(out, "{:08X}", u32::from_ne_bytes(w));
        }
        let _ = write!(out, ":{:04X}", addr.port());
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_connecting_socket_is_found_by_both_addresses() {
            let server: SocketAddr = "127.0.0.1:4000".parse().unwrap();
            let client: SocketAddr = "127.0.0.1:51234".parse().unwrap();
            let (s, c) = (entry(server), entry(client));
            if cfg!(target_endian = "little") {
                assert_eq!(s, "0100007F:0FA0");
            }
            let table = format!(
                "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
                 0: {s} 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1\n\
                 1: {s} {c} 01 00000000:00000000 00:00000000 00000000  1000        0 112 1\n\
                 2: {c} {s} 01 00000000:00000000 00:00000000 00000000  1001        0 113 1\n"
            );
            assert_eq!(
                find(&table, &c, &s, 1000),
                Peer::User {
                    uid: 1001,
                    own: 1000
                }
            );
            let orphan = table.replace(" 113 1", " 0 0");
            assert_eq!(find(&orphan, &c, &s, 1000), Peer::Unowned);
            let gone = table.lines().take(3).collect::<Vec<_>>().join("\n");
            assert_eq!(find(&gone, &c, &s, 1000), Peer::Unowned);
            assert_eq!(find("garbage", &c, &s, 1000), Peer::Unknown);
            let v6: SocketAddr = "[::1]:4000".parse().unwrap();
            assert_eq!(entry(v6).len(), 32 + 5);
        }
    }
}
